import threading
import time

import pytest

from graphrt import Registry, Runtime
from graphrt.core import events as ev
from tests.fakeops import CALLS, FAKE_OPS

REG = Registry(FAKE_OPS)

DIAMOND = {
    "nodes": {
        "a": {"op": "test.const", "params": {"value": 1}},
        "b": {"op": "test.add", "in": {"a": "a.out"}, "params": {"value": 10}},
        "c": {"op": "test.add", "in": {"a": "a.out"}, "params": {"value": 100}},
        "d": {"op": "test.add", "in": {"a": "b.out", "b": "c.out"}},
        "e": {"op": "test.add", "in": {"a": "c.out"}, "params": {"value": 0.5}},
        "unused": {"op": "test.const", "params": {"value": 9}},
    },
    "outputs": {"d": "d.out", "e": "e.out"},
}


def with_param(doc: dict, node: str, **params: float) -> dict:
    nodes = {k: dict(v) for k, v in doc["nodes"].items()}
    nodes[node]["params"] = {**nodes[node].get("params", {}), **params}
    return {**doc, "nodes": nodes}


def test_identical_rerun_executes_nothing_and_param_change_only_descendants() -> None:
    rt = Runtime(registry=REG)
    first = rt.run(DIAMOND)
    assert first.outputs == {"d": 112.0, "e": 101.5}
    assert sorted(first.executed) == ["a", "b", "c", "d", "e"]  # "unused" is pruned
    again = rt.run(DIAMOND)
    assert again.executed == [] and sorted(again.cached) == ["a", "b", "c", "d", "e"]
    assert again.outputs == first.outputs
    changed = rt.run(with_param(DIAMOND, "c", value=200))
    assert sorted(changed.executed) == ["c", "d", "e"]
    assert changed.outputs == {"d": 212.0, "e": 201.5}


def test_only_requested_outputs_run() -> None:
    rt = Runtime(registry=REG)
    result = rt.run(DIAMOND, outputs=["e"])
    assert sorted(result.executed) == ["a", "c", "e"] and result.outputs == {"e": 101.5}


def test_failure_fails_only_dependents_and_resumes_from_cache() -> None:
    doc = {"nodes": {
        "a": {"op": "test.const", "params": {"value": 1}},
        "bad": {"op": "test.fail", "in": {"a": "a.out"}, "params": {"fail": True}},
        "after": {"op": "test.add", "in": {"a": "bad.out"}},
        "good": {"op": "test.add", "in": {"a": "a.out"}, "params": {"value": 2}},
    }, "outputs": {"x": "after.out", "y": "good.out"}}
    rt = Runtime(registry=REG)
    events: list[ev.Event] = []
    result = rt.run(doc, on_event=events.append)
    assert not result.ok
    assert result.failed["bad"]["op"] == "test.fail"
    assert "asked to fail" in result.failed["bad"]["message"]
    assert result.blocked == {"after": "bad"}
    assert result.outputs == {"y": 3.0}
    failed = [e for e in events if isinstance(e, ev.NodeFailed)]
    assert [(e.node, e.op) for e in failed] == [("bad", "test.fail")]
    fixed = with_param(doc, "bad", fail=False)
    rerun = rt.run(fixed)
    assert sorted(rerun.executed) == ["after", "bad"]  # a and good come from the cache
    assert rerun.outputs == {"x": 1.0, "y": 3.0} and rerun.ok


def test_interrupt_stops_within_one_tick_and_keeps_finished_nodes() -> None:
    doc = {"nodes": {
        "a": {"op": "test.const", "params": {"value": 1}},
        "fast": {"op": "test.add", "in": {"a": "a.out"}},
        "slow": {"op": "test.slow", "in": {"a": "fast.out"}, "params": {"steps": 60,
                                                                       "delay": 0.01}},
    }, "outputs": {"x": "slow.out"}}
    rt = Runtime(registry=REG)
    ticks: list[int] = []
    stopped_at: list[int] = []

    def sink(event: ev.Event) -> None:
        if isinstance(event, ev.Progress):
            ticks.append(event.step)
            if event.step == 5:
                threading.Thread(target=rt.interrupt).start()
                time.sleep(0.05)  # the interrupt lands before the next tick
                stopped_at.append(event.step)

    result = rt.run(doc, on_event=sink)
    assert result.interrupted and result.outputs == {}
    assert max(ticks) <= stopped_at[0] + 1
    assert sorted(result.executed) == ["a", "fast"]
    again = rt.run(doc)
    assert again.executed == ["slow"] and again.outputs == {"x": 1.0}


def test_event_stream_order() -> None:
    rt = Runtime(registry=REG)
    kinds = []
    rt.run(DIAMOND, on_event=lambda e: kinds.append(e.kind))
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("node_started") == kinds.count("node_finished") == 5
    kinds.clear()
    rt.run(DIAMOND, on_event=lambda e: kinds.append(e.kind))
    assert kinds.count("node_cached") == 5 and "node_started" not in kinds


def test_strict_mode_catches_mutation() -> None:
    doc = {"nodes": {"t": {"op": "test.tensor"}, "m": {"op": "test.mutate", "in": {"a": "t.out"}}},
           "outputs": {"x": "m.out"}}
    result = Runtime(registry=REG, strict=True).run(doc)
    assert "mutated its input 'a'" in result.failed["m"]["message"]
    assert Runtime(registry=REG).run(doc).ok  # without strict mode it goes unnoticed


def test_macro_nodes_cached_individually() -> None:
    doc = {"nodes": {"a": {"op": "test.const", "params": {"value": 1}},
                     "r": {"op": "test.repeat_add", "in": {"a": "a.out"},
                           "params": {"times": 4}}}, "outputs": {"x": "r.out"}}
    rt = Runtime(registry=REG)
    first = rt.run(doc)
    assert first.outputs == {"x": 5.0}
    assert first.executed == ["a", "r/step0", "r/step1", "r/step2", "r/step3"]
    longer = rt.run(with_param(doc, "r", times=6))
    assert longer.executed == ["r/step4", "r/step5"] and longer.outputs == {"x": 7.0}
    report = rt.plan(with_param(doc, "r", times=7))
    assert [r["status"] for r in report.rows()].count("execute") == 1


def test_counting_calls_across_runtimes_sharing_nothing() -> None:
    CALLS.clear()
    Runtime(registry=REG).run(DIAMOND)
    Runtime(registry=REG).run(DIAMOND)
    assert CALLS["test.const"] == 2  # memory caches are per runtime


@pytest.mark.parametrize("times", [0, 1])
def test_macro_may_return_its_input(times: int) -> None:
    doc = {"nodes": {"a": {"op": "test.const", "params": {"value": 3}},
                     "r": {"op": "test.repeat_add", "in": {"a": "a.out"},
                           "params": {"times": times}}}, "outputs": {"x": "r.out"}}
    assert Runtime(registry=REG).run(doc).outputs == {"x": 3.0 + times}
