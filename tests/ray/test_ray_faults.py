"""A worker killed while it samples: its prompts finish on another worker, each once, and a
replacement joins; an interrupt stops a prompt on its worker (SPEC §13). Through the
executor API; tests/ray/test_ray_server.py kills a worker under the server."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from graphrt.core import events as ev
from graphrt.distributed import PartRouted, WorkerLost

pytestmark = pytest.mark.ray
T2I = Path(__file__).resolve().parents[2] / "graphs" / "txt2img.json"
SMALL = {"width": 128, "height": 128}


def test_a_worker_killed_mid_prompt(ray_cluster: Any, cluster: Any) -> None:
    rt, executor = cluster()
    sampling = threading.Event()
    where: dict[str, str] = {}

    def watch(event: ev.Event) -> None:
        if isinstance(event, PartRouted):
            where["worker"] = event.worker
        if isinstance(event, ev.Progress) and event.node == "sample":
            sampling.set()

    seen: list[list[ev.Event]] = [[], [], []]

    def sink(i: int) -> Any:
        def record(event: ev.Event) -> None:
            seen[i].append(event)
            if i == 0:
                watch(event)
        return record

    prompts = [{**SMALL, "seed": 0, "steps": 300}, {**SMALL, "seed": 1}, {**SMALL, "seed": 2}]
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(rt.run, T2I, args=args, on_event=sink(i))
                   for i, args in enumerate(prompts)]
        assert sampling.wait(60), "the long prompt never started sampling"
        victim = where["worker"]
        ray_cluster.kill(executor.actor(victim))  # mid-sampling
        results = [f.result(timeout=120) for f in futures]
    assert all(r.ok for r in results), [r.failed for r in results]
    first = results[0]
    lost = [e for e in seen[0] if isinstance(e, WorkerLost)]
    assert [e.worker for e in lost] == [victim] and first.stats["worker_losses"] == 1
    routed = [e.worker for e in seen[0] if isinstance(e, PartRouted)]
    assert routed[0] == victim and routed[-1] != victim  # finished elsewhere
    for result, events in zip(results, seen, strict=True):  # each prompt ends once
        assert sum(isinstance(e, ev.RunFinished) for e in events) == 1
        assert len(set(result.executed)) == len(result.executed)
        assert "save" in result.executed or "save" in result.cached
    saved = list(Path(str(executor.options.output)).glob("*.png"))
    assert len(saved) == 3  # every prompt saved its image exactly once
    assert executor.stats()["losses"] == 1
    deadline = time.monotonic() + 60
    while len(executor.stats()["alive"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = executor.stats()["alive"]
    assert len(alive) == 2 and victim not in alive  # a replacement joined
    assert all(executor.lanes[name].joined.wait(60) for name in alive)
    # an interrupt reaches the worker running the prompt, mid-sampling
    cancel, steps = threading.Event(), []

    def stop_at_step_5(event: ev.Event) -> None:
        if isinstance(event, ev.Progress):
            steps.append(event.step)
            if event.step >= 5:
                cancel.set()

    stopped = rt.run(T2I, args={**SMALL, "seed": 3, "steps": 1000}, on_event=stop_at_step_5,
                     cancel=cancel)
    assert stopped.interrupted and "sample" not in stopped.executed
    assert 5 <= max(steps) < 1000
    again = rt.run(T2I, args={**SMALL, "seed": 4})
    assert again.ok
