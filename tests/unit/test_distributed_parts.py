"""graphrt.distributed without Ray: cutting plans where the model changes, the routers'
scores, the cluster index (SPEC §13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrt import Runtime
from graphrt.core.plan import Plan
from graphrt.core.store import DiskStore
from graphrt.distributed.index import ClusterIndex
from graphrt.distributed.parts import boundary, cut, layout, part_plan
from graphrt.distributed.router import (
    CROWD_COST,
    LOAD_COST,
    CacheAwareRouter,
    Demand,
    RoundRobinRouter,
    WorkerView,
)

ROOT = Path(__file__).resolve().parents[2]


def plan_of(name: str, **args: object) -> Plan:
    return Runtime(device="cpu").prepare(ROOT / "graphs" / f"{name}.json", args=args)


def test_a_split_sampler_is_cut_where_the_model_changes() -> None:
    plan = plan_of("sdxl_split_sampler")
    lay = layout(plan)
    assert lay.loaders == {"base", "refiner"} and lay.roots == {"base": ("base",),
                                                                 "refiner": ("refiner",)}
    parts = cut(plan, lay, plan.order)
    assert [(p.model, p.nodes) for p in parts] == [
        ("base", ("base", "base_neg", "base_pos", "empty", "split/base")),  # empty follows
        ("refiner", ("refiner", "refiner_neg", "refiner_pos", "split/refiner", "decode",
                     "save"))]  # save follows its input
    assert boundary(plan, parts[1].nodes) == ["split/base"]


def test_a_part_returns_to_a_model_when_the_graph_does() -> None:
    plan = plan_of("sdxl_img2img_refine")
    parts = cut(plan, layout(plan), plan.order)
    assert [p.model for p in parts] == ["base", "refiner", "base"]  # the base's VAE decodes
    assert parts[-1].nodes == ("refine/decode", "save")


def test_only_the_nodes_to_run_are_cut() -> None:
    plan = plan_of("sdxl_split_sampler")
    parts = cut(plan, layout(plan), ["split/refiner", "decode", "save"])
    assert [(p.model, p.nodes) for p in parts] == [
        ("refiner", ("split/refiner", "decode", "save"))]


def test_a_model_free_graph_is_one_part() -> None:
    from tests.fakeops import FAKE_OPS

    rt = Runtime(registry=FAKE_OPS)
    plan = rt.prepare({"nodes": {"a": {"op": "test.const", "params": {"value": 1}},
                                 "b": {"op": "test.add", "in": {"a": "a.out"}}},
                       "outputs": {"b": "b.out"}})
    assert [(p.model, p.nodes) for p in cut(plan, layout(plan), plan.order)] == [
        (None, ("a", "b"))]


def test_a_part_plan_reads_its_inputs_and_keeps_its_keys() -> None:
    plan = plan_of("sdxl_split_sampler")
    nodes = ["split/refiner", "decode", "save"]
    inputs = boundary(plan, nodes) + ["refiner", "refiner_pos", "refiner_neg"]
    sub = part_plan(plan, nodes, inputs, {"images": plan.outputs["images"]})
    assert set(sub.order) == set(nodes) | set(inputs)
    assert all(sub.upstreams[n] == [] for n in inputs)
    assert sub.keys == {n: plan.keys[n] for n in sub.order}


# --- routers ------------------------------------------------------------------------------

DEMAND = Demand(nodes=(("k1", 17.0), ("k2", 1.0)), inputs=("in",), models=("model-a",))


def test_the_worker_with_the_model_wins_over_a_short_queue() -> None:
    busy = WorkerView("w0", held=frozenset({"model-a"}), models=frozenset({"model-a"}),
                      queued=LOAD_COST / 2)
    idle = WorkerView("w1")
    route = CacheAwareRouter().choose(DEMAND, [idle, busy])
    assert route.worker == "w0" and route.reason["models_resident"] == 1
    assert route.reason["others"] == {"w1": 0.0}


def test_a_queue_longer_than_a_load_sends_the_part_elsewhere() -> None:
    busy = WorkerView("w0", held=frozenset({"model-a"}), models=frozenset({"model-a"}),
                      queued=LOAD_COST + 10)
    assert CacheAwareRouter().choose(DEMAND, [busy, WorkerView("w1")]).worker == "w1"


def test_a_second_model_goes_to_the_worker_without_one() -> None:
    other = WorkerView("w0", held=frozenset({"model-b", "in"}), models=frozenset({"model-b"}))
    route = CacheAwareRouter().choose(DEMAND, [other, WorkerView("w1")])
    assert route.worker == "w1"
    assert route.reason["others"]["w0"] == pytest.approx(1.0 - CROWD_COST)


def test_held_results_and_inputs_break_ties() -> None:
    holder = WorkerView("w1", held=frozenset({"k1", "in"}))
    route = CacheAwareRouter().choose(DEMAND, [WorkerView("w0"), holder])
    assert route.worker == "w1" and route.reason["score"] == 18.0
    assert route.reason["keys_held"] == 1 and route.reason["inputs_held"] == 1


def test_ties_go_to_the_shorter_queue_then_the_first() -> None:
    router = CacheAwareRouter()
    assert router.choose(DEMAND, [WorkerView("w0"), WorkerView("w1")]).worker == "w0"
    assert router.choose(DEMAND, [WorkerView("w0", queued=1.0),
                                  WorkerView("w1", queued=0.5)]).worker == "w1"


def test_round_robin_takes_the_workers_in_turn() -> None:
    router = RoundRobinRouter()
    holder = WorkerView("w0", held=frozenset({"model-a", "k1"}))
    picks = [router.choose(DEMAND, [holder, WorkerView("w1")]).worker for _ in range(4)]
    assert picks == ["w0", "w1", "w0", "w1"]


# --- the cluster index --------------------------------------------------------------------

def test_the_index_tracks_promises_holdings_evictions_and_losses(tmp_path: Path) -> None:
    disk = DiskStore(tmp_path)
    disk.put("d" * 32, {"out": b"x"})
    index = ClusterIndex(disk)
    index.add("w0")
    index.add("w1")
    index.promise("w0", ["k1", "k2"], ["m"], 18.0)
    assert index.holds("w0", "k1") and "k1" not in index  # promised, not yet in the cluster
    (w0,) = index.view(["w0"])
    assert w0.queued == 18.0 and w0.models == {"m"} and {"k1", "k2"} <= w0.held
    index.settle("w0", ["k1", "k2"], ["m"], 18.0, held=["k1", "m"], loaders=["m"])
    assert "k1" in index and "k2" not in index and index.holders("k1") == ["w0"]
    (w0,) = index.view(["w0"])
    assert w0.queued == 0.0 and w0.models == {"m"} and w0.held == {"k1", "m"}
    index.settle("w1", [], [], 0.0, held=["k1"])
    index.settle("w0", [], [], 0.0, evicted=["k1"])
    assert index.holders("k1") == ["w1"] and index.evictions == 1
    assert index.drop("w1") == {"k1"}
    assert "k1" not in index and index.holders("k1") == []
    assert "d" * 32 in index and index.on_disk("d" * 32)  # the shared disk tier
    assert [w.name for w in index.view(["w0", "w1"])] == ["w0"]
