"""The worker of graphrt.distributed run in this process, without Ray: parts of a plan on
two workers, a value handed from one to the other, missing inputs, events, interrupts."""

from __future__ import annotations

from pathlib import Path

from graphrt import Runtime
from graphrt.core import events as ev
from graphrt.core.store import codec
from graphrt.distributed.wire import pack, unpack
from graphrt.distributed.worker import PartTask, PartWorker, WorkerOptions

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "graphs" / "sdxl_split_sampler.json"
ARGS = {"width": 128, "height": 128}
BASE = ("base", "base_neg", "base_pos", "empty", "split/base")
REFINER = ("refiner", "refiner_neg", "refiner_pos", "split/refiner", "decode", "save")


def test_two_workers_run_a_plan_in_parts_as_one_process_would(tmp_path: Path) -> None:
    local = Runtime(device="cpu", output_dir=tmp_path / "local")
    expected = local.run(GRAPH, args=ARGS)
    plan = Runtime(device="cpu").prepare(GRAPH, args=ARGS)
    options = WorkerOptions(output=str(tmp_path / "parts"))
    first, second = PartWorker("w0", options), PartWorker("w1", options)

    base = first.run_part(plan, PartTask("t0", BASE, exports=("split/base",)))
    assert base.executed == list(BASE) and base.model_calls == 16 and not base.missing
    assert plan.keys["split/base"] in base.held and base.outputs == {}

    latent = plan.keys["split/base"]
    sent = first.export([latent, "no-such-key"])
    assert list(sent) == [latent]
    refined = second.run_part(plan, PartTask("t1", REFINER, inputs=("split/base",),
                                             outputs=("images",)), sent)
    assert refined.executed == list(REFINER)  # split/base is not computed again
    assert refined.model_calls == 4 and latent in refined.held
    (name,) = refined.outputs["images"]
    assert refined.outputs == expected.outputs
    assert (tmp_path / "parts" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    mine = local.prepare(GRAPH, args=ARGS).keys  # image.save's key names its folder
    for node in BASE + REFINER[:-1]:  # every result, bit for bit
        worker = first if node in BASE else second
        assert plan.keys[node] == mine[node]
        ours, theirs = worker.store.get(plan.keys[node]), local.store.get(mine[node])
        if node in ("base", "refiner"):  # models: live objects, never sent
            continue
        assert codec.encode(ours) == codec.encode(theirs), node


def test_a_part_without_its_inputs_runs_nothing(tmp_path: Path) -> None:
    plan = Runtime(device="cpu").prepare(GRAPH, args=ARGS)
    worker = PartWorker("w0", WorkerOptions(output=str(tmp_path)))
    result = worker.run_part(plan, PartTask("t", REFINER, inputs=("split/base",),
                                            outputs=("images",)))
    assert result.missing == ["split/base"] and result.executed == [] and result.outputs == {}
    assert worker.next_events("t", 0.0) == ([], True)


def test_events_stream_per_part_and_an_interrupt_reaches_the_part(tmp_path: Path) -> None:
    plan = Runtime(device="cpu").prepare(GRAPH, args=ARGS)
    worker = PartWorker("w0", WorkerOptions(output=str(tmp_path)))
    worker.run_part(plan, PartTask("a", BASE[:3], exports=("base_neg", "base_pos")))
    events, finished = worker.next_events("a", 0.0)
    assert finished and [e.node for e in events if isinstance(e, ev.NodeFinished)] == [
        "base", "base_neg", "base_pos"]
    assert worker.interrupt("b")  # before the part arrives: it stops at its first node
    stopped = worker.run_part(plan, PartTask("b", BASE[3:], inputs=BASE[:3],
                                             exports=("split/base",)))
    assert stopped.interrupted and stopped.executed == []


def test_a_shared_disk_tier_serves_a_fresh_worker(tmp_path: Path) -> None:
    plan = Runtime(device="cpu").prepare(GRAPH, args=ARGS)
    options = WorkerOptions(cache_dir=str(tmp_path / "cache"), output=str(tmp_path / "out"))
    PartWorker("w0", options).run_part(plan, PartTask("a", BASE, exports=("split/base",)))
    fresh = PartWorker("w1", options)  # another process: an empty memory
    result = fresh.run_part(plan, PartTask("b", REFINER, inputs=("split/base",),
                                           outputs=("images",)))
    assert result.executed == list(REFINER) and not result.missing


def test_values_for_the_head_travel_as_codec_bytes() -> None:
    import torch

    value = {"samples": torch.arange(6.0).reshape(2, 3)}
    packed = pack(value)
    assert not isinstance(packed, dict)
    assert torch.equal(unpack(packed)["samples"], value["samples"])
    model = object()
    assert pack(model) is model and unpack(model) is model


def test_a_worker_reports_what_its_memory_evicted(tmp_path: Path) -> None:
    plan = Runtime(device="cpu").prepare(GRAPH, args=ARGS)
    budget = 250_000  # at 128 px: models ~49 KB, conds ~20 KB, the decoded image ~197 KB
    worker = PartWorker("w0", WorkerOptions(memory_budget=budget, output=str(tmp_path)))
    first = worker.run_part(plan, PartTask("a", BASE, exports=("split/base",)))
    second = worker.run_part(plan, PartTask("b", REFINER, inputs=("split/base",),
                                            outputs=("images",)))
    evicted = set(first.evicted + second.evicted)
    assert evicted  # told to the head, which stops routing to those keys
    assert all(key not in worker.store.memory for key in evicted - set(second.held))
