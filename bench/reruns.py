"""Cache-aware reruns of the SDXL split sampler (graphs/sdxl_split_sampler.json) on the toy
models: 20 steps, base_ratio 0.8 (16 base + 4 refiner steps).

Prints model evaluations (counted by the run, and predicted by the plan) and wall time for the
first run, an identical rerun, a refiner-only change (refiner_cfg) and a base seed change;
times are also given as ratios to the first run. Ratios within one run.

    python bench/reruns.py [--size 512] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphrt import Runtime  # noqa: E402

GRAPH = ROOT / "graphs" / "sdxl_split_sampler.json"
CASES = [("first run", {}), ("identical rerun", {}), ("refiner cfg 5 → 3", {"refiner_cfg": 3.0}),
         ("base seed 0 → 1", {"refiner_cfg": 3.0, "seed": 1})]


def measure(size: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as out:
        rt = Runtime(device="cpu", output_dir=out)
        rt.run(GRAPH, args={"width": 64, "height": 64, "steps": 2})  # warm imports and models
        for label, change in CASES:
            args = {"width": size, "height": size, "steps": 20, "base_ratio": 0.8, **change}
            predicted = rt.plan(GRAPH, args=args).model_calls
            t0 = time.perf_counter()
            result = rt.run(GRAPH, args=args)
            wall = time.perf_counter() - t0
            assert result.ok, result.failed
            rows.append({"case": label, "calls": result.stats["model_calls"],
                         "predicted": predicted, "executed": len(result.executed),
                         "nodes": len(result.statuses), "wall": wall})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=512, help="image side in pixels")
    ap.add_argument("--repeat", type=int, default=3, help="best wall time of N sessions")
    ns = ap.parse_args()
    runs = [measure(ns.size) for _ in range(ns.repeat)]
    rows = [{**r, "wall": min(run[i]["wall"] for run in runs)} for i, r in enumerate(runs[0])]
    first = rows[0]["wall"]
    print(f"split sampler, 20 steps, base_ratio 0.8, {ns.size}x{ns.size} px, "
          f"best of {ns.repeat}")
    print(f"{'case':<22}{'model calls':>12}{'predicted':>11}{'executed':>10}"
          f"{'wall s':>10}{'vs first':>10}")
    for r in rows:
        print(f"{r['case']:<22}{r['calls']:>12}{r['predicted']:>11}"
              f"{r['executed']:>5}/{r['nodes']:<4}{r['wall']:>10.4f}{r['wall'] / first:>10.3f}")


if __name__ == "__main__":
    main()
