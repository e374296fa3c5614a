"""Scale-out on Ray (SPEC §13): one prompt mix on 1, 2 and 4 logical workers, routed by the
cache-aware router, by the round-robin router (both sharing results across workers), and
as independent servers (whole prompts in turn, each worker with its own cache).

The mix (16 prompts on the toy models, submitted at once): the SDXL split sampler with two
base seeds × three refiner cfgs (same base, different refiner settings), txt2img on
toy-shapes with five seeds and on toy-shapes-refiner with three (same model, different
seeds), and two repeats. Counted: model loads, model calls, nodes executed, nodes served
from a cache, inputs fetched from another worker; the makespan (first submission to last
result) is wall time, meaningful only where real GPUs exist. On CPU the counts are the
result. Every configuration starts from empty caches; workers import the op library first.

    unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/scale_out.py [--json]'

(Ray binds to the host's interface address: a network namespace keeps it on loopback.)
With --json: one JSON object per line per router and worker count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphrt import Runtime  # noqa: E402
from graphrt.distributed import RayExecutor  # noqa: E402
from graphrt.distributed.executor import ZERO_COPY  # noqa: E402

SPLIT, T2I = ROOT / "graphs" / "sdxl_split_sampler.json", ROOT / "graphs" / "txt2img.json"
ROUTERS = (("cache-aware", "cache-aware"), ("round-robin", "round-robin"),
           ("independent servers", "independent"))


def prompt_mix() -> list[tuple[Path, dict[str, Any]]]:
    mix: list[tuple[Path, dict[str, Any]]] = [
        (SPLIT, {"seed": seed, "refiner_cfg": cfg}) for seed in (0, 1) for cfg in (5.0, 4.0, 3.0)]
    mix += [(T2I, {"checkpoint": "toy-shapes", "seed": s}) for s in range(5)]
    mix += [(T2I, {"checkpoint": "toy-shapes-refiner", "seed": s}) for s in range(3)]
    mix += [(SPLIT, {"seed": 0, "refiner_cfg": 5.0}), (T2I, {"checkpoint": "toy-shapes",
                                                             "seed": 0})]
    return mix


def measure(router: str, workers: int, size: int, base: Path) -> dict[str, Any]:
    executor = RayExecutor(router=router, workers=workers)
    rt = Runtime(executor=executor, device="cpu", cache_dir=base / "cache",
                 output_dir=base / "out")
    try:
        executor.warm()
        mix = prompt_mix()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(mix)) as pool:
            futures = [pool.submit(rt.run, graph, args={"width": size, "height": size, **args})
                       for graph, args in mix]
            results = [f.result(timeout=600) for f in futures]
        makespan = time.perf_counter() - t0
        assert all(r.ok for r in results), [r.failed for r in results if not r.ok]
        stats = executor.stats()
        return {"workers": workers, "prompts": len(mix), "model_loads": stats["model_loads"],
                "model_calls": sum(r.stats["model_calls"] for r in results),
                "executed": sum(len(r.executed) for r in results),
                "cache_hits": sum(len(r.cached) for r in results),  # found in a cache
                "fetched": sum(r.stats.get("fetched", 0) for r in results),
                "makespan_s": round(makespan, 3)}
    finally:
        executor.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--size", type=int, default=128, help="image side in pixels")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ns = ap.parse_args()
    import ray

    os.environ.update(ZERO_COPY)
    ray.init(num_cpus=2, num_gpus=max(ns.workers), include_dashboard=False,
             log_to_driver=False)
    rows = []
    try:
        for workers in ns.workers:
            for label, router in ROUTERS:
                with tempfile.TemporaryDirectory() as base:
                    row = {"router": label, **measure(router, workers, ns.size, Path(base))}
                rows.append(row)
                if ns.json:
                    print(json.dumps(row), flush=True)
    finally:
        ray.shutdown()
    if not ns.json:
        cols = ("router", "workers", "prompts", "model_loads", "model_calls", "executed",
                "cache_hits", "fetched", "makespan_s")
        print(" | ".join(cols))
        for row in rows:
            print(" | ".join(str(row[c]) for c in cols))


if __name__ == "__main__":
    main()
