"""Cache-aware routing: 8 prompts over two models on 2 logical GPUs (SPEC §13)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from graphrt.core import events as ev
from graphrt.distributed import PartRouted

pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[2]
SPLIT, T2I = ROOT / "graphs" / "sdxl_split_sampler.json", ROOT / "graphs" / "txt2img.json"
SMALL = {"width": 128, "height": 128}


def test_eight_prompts_over_two_models_on_two_gpus(cluster: Any) -> None:
    rt, executor = cluster()
    assert sorted(executor.lanes) == ["w0", "w1"]
    assert all(lane.info["gpus"] for lane in executor.lanes.values())  # one logical GPU each
    keys = rt.prepare(SPLIT, args=SMALL).keys
    base, refiner = keys["base"], keys["refiner"]
    first = [(SPLIT, {"seed": 0}), (SPLIT, {"seed": 1}),
             (T2I, {"checkpoint": "toy-shapes", "seed": 2}),
             (T2I, {"checkpoint": "toy-shapes-refiner", "seed": 3}),
             (T2I, {"checkpoint": "toy-shapes", "seed": 4}),
             (SPLIT, {"seed": 2, "refiner_cfg": 4.0})]
    seen: list[list[ev.Event]] = [[] for _ in first]
    with ThreadPoolExecutor(len(first)) as pool:  # submitted together: queues matter
        futures = [pool.submit(rt.run, graph, args={**SMALL, **args}, on_event=seen[i].append)
                   for i, (graph, args) in enumerate(first)]
        results = [f.result(timeout=120) for f in futures]
    assert all(r.ok for r in results), [r.failed for r in results]

    repeat = rt.run(SPLIT, args={**SMALL, "seed": 0})
    assert repeat.executed == [] and repeat.stats["model_calls"] == 0
    assert repeat.outputs == results[0].outputs  # the saved files, from the cache

    routed: list[ev.Event] = []
    variant = rt.run(SPLIT, args={**SMALL, "seed": 0, "refiner_cfg": 3.0},
                     on_event=routed.append)
    assert variant.executed == ["split/refiner", "decode", "save"]
    assert variant.stats["model_calls"] == 4 and variant.stats["model_loads"] == 0

    loads = {name: w["loads"] for name, w in executor.stats()["workers"].items()}
    where = {key: [n for n, done in loads.items() if key in done] for key in (base, refiner)}
    assert [sum(done.get(k, 0) for done in loads.values()) for k in (base, refiner)] == [1, 1]
    assert len(where[base]) == len(where[refiner]) == 1 and where[base] != where[refiner]
    (part,) = [e for e in routed if isinstance(e, PartRouted)]
    assert part.worker == where[refiner][0]  # the worker that holds the refiner
    assert part.reason["router"] == "cache-aware" and part.reason["models_resident"] == 1
    # the base's latent: held there already, or fetched from its worker (and counted)
    assert set(part.fetched) <= {keys["split/base"]}
    assert variant.stats["fetched"] == len(part.fetched)
    for events in seen:  # every routing decision is an event, with its reason
        parts = [e for e in events if isinstance(e, PartRouted)]
        assert parts and all("score" in e.reason for e in parts)

    # ... and visible in the plan, before anything runs
    report = rt.plan(SPLIT, args={**SMALL, "seed": 0, "refiner_cfg": 2.0}).to_dict()
    assert report["summary"]["execute"] == 3 and report["summary"]["model_calls"] == 4
    (route,) = report["routes"]
    assert route["nodes"] == ["split/refiner", "decode", "save"]
    assert route["worker"] == where[refiner][0] and route["reason"]["models_resident"] == 1
