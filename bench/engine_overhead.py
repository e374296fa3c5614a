"""Engine overhead on trivial ops: chains and wide fan-in graphs at 1k and 10k nodes.

Prints, per shape and size: load+validate+plan time, execution time per node, identical
rerun time, and the 10k/1k ratios (linear scaling means about 10). Ratios within one run;
absolute numbers depend on the machine.

    python bench/engine_overhead.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphrt import Runtime  # noqa: E402
from tests.fakeops import FAKE_OPS  # noqa: E402
from tests.unit.test_scale import chain, wide  # noqa: E402


def measure(doc: dict[str, Any], repeat: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(repeat):
        rt = Runtime(registry=FAKE_OPS)
        t0 = time.perf_counter()
        rt.plan(doc)
        t1 = time.perf_counter()
        first = rt.run(doc)
        t2 = time.perf_counter()
        again = rt.run(doc)
        t3 = time.perf_counter()
        assert again.executed == [] and len(first.executed) == len(first.statuses)
        sample = {"plan": t1 - t0, "run": t2 - t1, "rerun": t3 - t2}
        best = {k: min(v, best.get(k, v)) for k, v in sample.items()}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    ns = parser.parse_args()
    print(f"{'graph':12} {'nodes':>6} {'plan ms':>9} {'run ms':>9} {'rerun ms':>9} "
          f"{'plan µs/node':>13} {'run µs/node':>12}")
    results: dict[tuple[str, int], dict[str, float]] = {}
    for name, make in (("chain", chain), ("wide", wide)):
        for n in (1_000, 10_000):
            r = measure(make(n), ns.repeat)
            results[(name, n)] = r
            # run includes its own planning: execution overhead = run - plan
            exec_us = (r["run"] - r["plan"]) / n * 1e6
            print(f"{name:12} {n:>6} {r['plan'] * 1e3:9.1f} {r['run'] * 1e3:9.1f} "
                  f"{r['rerun'] * 1e3:9.1f} {r['plan'] / n * 1e6:13.1f} {exec_us:12.1f}")
    for name in ("chain", "wide"):
        small, big = results[(name, 1_000)], results[(name, 10_000)]
        ratios = {k: big[k] / small[k] for k in ("plan", "run", "rerun")}
        print(f"{name}: 10k/1k ratio  plan {ratios['plan']:.1f}  run {ratios['run']:.1f}  "
              f"rerun {ratios['rerun']:.1f}  (linear ≈ 10)")


if __name__ == "__main__":
    main()
