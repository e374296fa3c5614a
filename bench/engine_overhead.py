"""Engine overhead on trivial ops: graphrt against a bare loop and dask, chains and wide
fan-in graphs at 1k and 10k nodes.

For each graph, in one run on this machine (ratios matter, absolute numbers do not):
- graphrt: a first run (load + validate + expand + plan + execute) in a fresh Runtime, an
  identical rerun (the plan is reused from the document's digest; nothing executes), and an
  edit (one param of the middle node changed: replanned downstream of it only, and only the
  nodes it affects execute — half the chain, one const and the sum of the wide graph);
- bare loop: the same op functions called in a precomputed order with prebuilt params (the
  floor: what any engine must at least do);
- dask: `dask.get` (the synchronous scheduler) on the same functions, when dask is installed
  (no caching at all);
- peak RSS of a fresh process that plans and runs the graph, against one that only plans it.

    python bench/engine_overhead.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphrt import Runtime  # noqa: E402
from tests.fakeops import FAKE_OPS, Value, add, const, total  # noqa: E402
from tests.unit.test_scale import chain, wide  # noqa: E402

SHAPES = {"chain": chain, "wide": wide}


def graphrt_times(doc: dict[str, Any]) -> tuple[float, float, float]:
    """(first run, identical rerun, one-param edit) seconds, in a fresh Runtime."""
    rt = Runtime(registry=FAKE_OPS)
    nodes = list(doc["nodes"])
    middle = nodes[len(nodes) // 2]
    edit = {**doc, "nodes": {**doc["nodes"], middle: {**doc["nodes"][middle],
                                                      "params": {"value": -1}}}}
    t0 = time.perf_counter()
    first = rt.run(doc)
    t1 = time.perf_counter()
    again = rt.run(doc)
    t2 = time.perf_counter()
    edited = rt.run(edit)
    t3 = time.perf_counter()
    assert again.executed == [] and len(first.executed) == len(first.statuses)
    assert 0 < len(edited.executed) < len(first.executed)
    return t1 - t0, t2 - t1, t3 - t2


def bare_loop(shape: str, n: int) -> float:
    """The op functions called in order with prebuilt params: the floor."""
    fn_const, fn_add, fn_sum = (f.op_spec.fn for f in (const, add, total))
    if shape == "chain":
        first, step = Value(value=0.0), Value(value=1.0)
        t0 = time.perf_counter()
        x = fn_const(first)
        for _ in range(n - 1):
            x = fn_add(step, x)
        return time.perf_counter() - t0
    params = [Value(value=float(i % 7)) for i in range(n)]
    empty = total.op_spec.params()
    t0 = time.perf_counter()
    values = [fn_const(p) for p in params]
    fn_sum(empty, *values)
    return time.perf_counter() - t0


def dask_time(shape: str, n: int) -> float | None:
    """dask.get on the same functions (None when dask is not installed)."""
    try:
        import dask
    except ImportError:
        return None
    fn_const, fn_add, fn_sum = (f.op_spec.fn for f in (const, add, total))
    if shape == "chain":
        dsk: dict[str, Any] = {"n0": (fn_const, Value(value=0.0))}
        step = Value(value=1.0)
        for i in range(1, n):
            dsk[f"n{i}"] = (fn_add, step, f"n{i - 1}")
        target = f"n{n - 1}"
    else:
        dsk = {f"c{i}": (fn_const, Value(value=float(i % 7))) for i in range(n)}
        dsk["sum"] = (fn_sum, total.op_spec.params(), *[f"c{i}" for i in range(n)])
        target = "sum"
    t0 = time.perf_counter()
    dask.get(dsk, target)
    return time.perf_counter() - t0


HWM = ("def hwm():\n    for line in open('/proc/self/status'):\n"
       "        if line.startswith('VmHWM:'):\n            return int(line.split()[1]) / 1024\n")


def peak_rss_mib(shape: str | None, n: int = 0, run: bool = False) -> float:
    """Peak RSS (MiB, the process's own high-water mark, VmHWM) of a fresh process that
    imports graphrt, then plans (and runs) the graph; only imports when `shape` is None."""
    work = "" if shape is None else (f"doc = {shape}({n}); rt = Runtime(registry=FAKE_OPS); "
                                     f"rt.{'run' if run else 'plan'}(doc); ")
    code = (HWM + f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from graphrt import Runtime; from tests.fakeops import FAKE_OPS\n"
            "from tests.unit.test_scale import chain, wide\n" + work + "\nprint(hwm())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    return float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object per graph")
    ns = parser.parse_args()
    base_rss = peak_rss_mib(None)
    graphrt_times(chain(100))  # warm up: op schemas and caches built once per process
    rows = []
    for shape, make in SHAPES.items():
        for n in (1_000, 10_000):
            doc = make(n)
            runs = [graphrt_times(doc) for _ in range(ns.repeat)]
            first, rerun, edit = (min(r[i] for r in runs) for i in range(3))
            bare = min(bare_loop(shape, n) for _ in range(ns.repeat))
            dasks = [dask_time(shape, n) for _ in range(ns.repeat)]
            dask_s = None if dasks[0] is None else min(d for d in dasks if d is not None)
            rss_plan, rss_run = peak_rss_mib(shape, n, False), peak_rss_mib(shape, n, True)
            rows.append({"graph": shape, "nodes": n, "graphrt_us": first / n * 1e6,
                         "bare_us": bare / n * 1e6,
                         "dask_us": None if dask_s is None else dask_s / n * 1e6,
                         "rerun_ratio": rerun / first, "edit_ratio": edit / first,
                         "rss_import_mib": base_rss,
                         "rss_plan_mib": rss_plan, "rss_run_mib": rss_run})
    if ns.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"{'graph':6} {'nodes':>6} {'graphrt µs/node':>16} {'bare µs/node':>13} "
          f"{'× bare':>7} {'dask µs/node':>13} {'rerun/first':>12} {'edit/first':>11} "
          f"{'RSS MiB import/plan/run':>24}")
    for r in rows:
        dask_us = "n/a" if r["dask_us"] is None else f"{r['dask_us']:.1f}"
        rss = f"{r['rss_import_mib']:.0f}/{r['rss_plan_mib']:.0f}/{r['rss_run_mib']:.0f}"
        print(f"{r['graph']:6} {r['nodes']:>6} {r['graphrt_us']:16.1f} {r['bare_us']:13.2f} "
              f"{r['graphrt_us'] / r['bare_us']:7.0f} {dask_us:>13} {r['rerun_ratio']:12.3f} "
              f"{r['edit_ratio']:11.3f} "
              f"{rss:>24}")
    for shape in SHAPES:
        small, big = (next(r for r in rows if r["graph"] == shape and r["nodes"] == n)
                      for n in (1_000, 10_000))
        ratio = big["graphrt_us"] * 10_000 / (small["graphrt_us"] * 1_000)
        print(f"{shape}: 10k/1k time ratio {ratio:.1f} (linear = 10)")


if __name__ == "__main__":
    main()
