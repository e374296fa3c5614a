"""More of the engine's shortcuts give what the long way gives (docs/performance.md): nodes
built without pydantic, slotted links, plans keyed with the check's consumers, first runs
decided without a walk, memoized step ranges and the reused interrupt flag."""

import copy
import os
import pickle
import threading
from dataclasses import replace

import pytest
from pydantic import TypeAdapter

from graphrt import InvalidGraph, Registry, Runtime
from graphrt.core.document import GraphDoc, InputRef, Ref, load_graph, parse_document
from graphrt.core.node_doc import NodeDoc, plain_nodes
from graphrt.core.plan import decide, make_plan
from graphrt.core.validate import validate
from graphrt.ops.kernels.steps import _steps_of, step_range
from tests.fakeops import FAKE_OPS
from tests.unit.test_scale import chain, wide

REG = Registry(FAKE_OPS)
ADAPTER = TypeAdapter(NodeDoc)

SOUND = [
    {"op": "test.const"},
    {"op": "test.add", "in": {"a": "x.out"}, "params": {"value": 2.5}, "title": "add"},
    {"op": "test.sum", "in": {"xs": ["a.out", "b.out"]}, "params": {}},
    {"op": "x", "params": {"deep": {"k": [1, None, "s"]}, "flag": True}},
]
UNUSUAL = [  # valid, but not plainly so: the schema takes them
    {"op": "x", "in": {"xs": ("a.out", "b.out")}},
    {"op": "x", "in": {"a": "x.out"}, "params": {"v": 1}, "title": type("S", (str,), {})("t")},
]
BROKEN = [
    {"op": ""}, {"op": 3}, {"in": {"a": "x.out"}}, {"op": "x", "in": {"a": 3}},
    {"op": "x", "in": {"a": ["x.out", 1]}}, {"op": "x", "params": {1: 2}},
    {"op": "x", "extra": 1}, {"op": "x", "in": ["x.out"]}, "not a node",
]


@pytest.mark.parametrize("raw", SOUND)
def test_plain_nodes_equal_what_the_schema_builds(raw: dict) -> None:
    built = plain_nodes({"n": raw})
    assert built is not None
    assert built["n"] == ADAPTER.validate_python(raw)
    assert built["n"].dump() == ADAPTER.dump_python(ADAPTER.validate_python(raw))


@pytest.mark.parametrize("raw", UNUSUAL)
def test_nodes_valid_but_not_plainly_so_go_through_the_schema(raw: dict) -> None:
    assert plain_nodes({"n": raw}) is None
    doc = load_graph({"nodes": {"n": raw}})
    assert doc.nodes["n"] == ADAPTER.validate_python(raw)


@pytest.mark.parametrize("raw", BROKEN)
def test_plain_nodes_leave_broken_nodes_to_the_schema(raw: object) -> None:
    assert plain_nodes({"n": raw, "ok": SOUND[0]}) is None
    doc, issues = parse_document({"nodes": {"n": raw, "ok": SOUND[0]}})
    assert issues and all(i.node == "n" for i in issues)
    assert doc is not None and list(doc.nodes) == ["ok"]


def test_plain_nodes_refuse_odd_ids_and_a_dump_round_trips() -> None:
    assert plain_nodes({"a/b": SOUND[0]}) is None and plain_nodes({"$x": SOUND[0]}) is None
    doc = load_graph({"nodes": {f"n{i}": raw for i, raw in enumerate(SOUND)},
                      "outputs": {"o": "n1.out"}})
    assert GraphDoc.model_validate(doc.dump()) == doc
    assert GraphDoc.model_validate(doc.dump()).nodes == doc.nodes


def test_a_loaded_document_does_not_share_the_callers_dicts() -> None:
    """A caller editing its dict after a run must not edit the document kept with the plan
    (replanning compares the next document against it)."""
    raw = {"nodes": {"s": {"op": "test.sum", "in": {"xs": ["a.out"]}, "params": {"v": 1}}}}
    doc = load_graph(raw)
    raw["nodes"]["s"]["params"]["v"] = 2
    raw["nodes"]["s"]["in"]["xs"].append("b.out")
    raw["nodes"]["s"]["in"]["y"] = "c.out"
    assert doc.nodes["s"].params == {"v": 1} and doc.nodes["s"].in_ == {"xs": ["a.out"]}


def test_a_parameter_edit_of_the_callers_dict_is_replanned() -> None:
    rt = Runtime(registry=REG)
    doc = chain(5)
    assert rt.run(doc).outputs == {"x": 4.0}
    doc["nodes"]["n2"]["params"]["value"] = 10
    result = rt.run(doc)
    assert result.outputs == {"x": 13.0} and result.executed == ["n2", "n3", "n4"]


def test_links_compare_hash_order_and_pickle_as_before() -> None:
    a, b = Ref("n1", "out"), Ref("n1", "out")
    assert a == b and hash(a) == hash(b) and a != Ref("n1", "x") and a is not b
    assert sorted([Ref("b", "a"), Ref("a", "z"), Ref("a", "b")]) == [
        Ref("a", "b"), Ref("a", "z"), Ref("b", "a")]
    assert Ref("a", "b") <= Ref("a", "b") < Ref("a", "c") and Ref("b", "a") > Ref("a", "z")
    assert InputRef("x") == InputRef("x") != InputRef("y") and InputRef("a") < InputRef("b")
    assert Ref("x", "y") != InputRef("x") and {a: 1}[b] == 1
    assert str(a) == "n1.out" and str(InputRef("x")) == "$x"
    assert pickle.loads(pickle.dumps(a)) == a and copy.deepcopy(InputRef("x")) == InputRef("x")
    with pytest.raises(TypeError):
        _ = Ref("a", "b") < InputRef("a")  # type: ignore[operator]


@pytest.mark.parametrize("doc", [chain(30), wide(30),
                                 {**chain(30), "outputs": {}},
                                 {**chain(30), "outputs": {"x": "n10.out"}}],
                         ids=["chain", "wide", "sinks", "pruned"])
def test_planning_with_the_checks_consumers_equals_planning_without(doc: dict) -> None:
    graph = validate(load_graph(doc), REG)
    fast = make_plan(graph)
    slow = make_plan(replace(graph, order=(), consumers=None))
    assert fast.order == slow.order and fast.keys == slow.keys
    assert {n: sorted(c) for n, c in fast.consumers.items()} == {
        n: sorted(c) for n, c in slow.consumers.items()}
    assert {n: list(u) for n, u in fast.upstreams.items()} == {
        n: list(u) for n, u in slow.upstreams.items()}


def test_a_plan_with_a_node_nobody_needs_is_decided_by_the_walk() -> None:
    """A plan cut by hand (as a worker's part plan is) may hold a node no target needs: an
    empty cache must not make it execute."""
    plan = make_plan(validate(load_graph({**chain(4), "outputs": {}}), REG))
    cut = replace(plan, outputs={"x": Ref("n2", "out")})
    assert not cut.all_needed and plan.all_needed
    assert decide(cut, set()) == {"n0": "execute", "n1": "execute", "n2": "execute",
                                  "n3": "skipped"}
    assert decide(plan, set()) == dict.fromkeys(plan.order, "execute")


def test_memoized_step_ranges_are_fresh_lists_equal_to_the_computation() -> None:
    for args in [("euler", "karras", 20, 1.0, None, None, True),
                 ("dpmpp_2m", "normal", 12, 0.6, 2, 9, False),
                 ("euler", "simple", 5, 1.0, 7, None, True)]:
        first = step_range(*args[:3], denoise=args[3], start=args[4], end=args[5],
                           force_full_denoise=args[6])
        assert first == _steps_of(*args, None)
        first.append(-1.0)
        assert step_range(*args[:3], denoise=args[3], start=args[4], end=args[5],
                          force_full_denoise=args[6]) == _steps_of(*args, None)
    with pytest.raises(ValueError):
        step_range("euler", "karras", 20, start=-1)


def test_a_given_interrupt_flag_is_not_reused_by_later_runs() -> None:
    rt = Runtime(registry=REG)
    mine = threading.Event()
    assert rt.run(chain(3), cancel=mine).ok
    after = rt.run(chain(4))
    assert after.ok and rt._cancel is not mine
    mine.set()  # setting the flag of a finished run stops nothing later
    assert rt.run(chain(5)).ok
    rt.interrupt()  # between runs: the next run starts with a fresh flag
    assert rt.run(chain(6)).ok


def test_bad_documents_still_report_every_node() -> None:
    doc = {"nodes": {"a": {"op": ""}, "b": {"op": "test.const", "in": {"x": 3}},
                     "c": {"op": "test.const"}}}
    with pytest.raises(InvalidGraph) as err:
        load_graph(doc)
    assert {i.node for i in err.value.issues} == {"a", "b"}


def test_an_identical_rerun_is_decided_from_the_stores_token_until_an_entry_leaves() -> None:
    rt = Runtime(registry=REG)
    plan = rt.prepare(chain(4))
    rt.run(plan)  # every result was kept: the run itself records the token
    assert plan.all_held_under == rt.store.holding()
    assert decide(plan, rt.store) == dict.fromkeys(plan.order, "cached")
    rt.store.memory.put("unrelated", {"out": 1.0})  # adding keeps the token
    assert rt.store.holding() == plan.all_held_under
    rt.store.memory.discard(plan.keys["n3"])
    assert rt.store.holding() != plan.all_held_under
    assert decide(plan, rt.store)["n3"] == "execute"
    assert rt.run(plan).executed == ["n3"]
    other = Runtime(registry=REG)  # another store: its token never matches this one's
    assert other.store.holding() != rt.store.holding()
    assert decide(plan, other.store) == dict.fromkeys(plan.order, "execute")


def test_a_run_whose_result_was_not_kept_records_no_token() -> None:
    tight = Runtime(registry=REG, memory_budget=60)
    plan = tight.prepare(chain(3))
    tight.run(plan)  # each float fits, but not all three together: entries were evicted
    assert plan.all_held_under is None
    assert decide(plan, tight.store) != dict.fromkeys(plan.order, "cached")
    assert tight.run(plan).outputs == {"x": 2.0}


def test_a_replanned_edit_keeps_what_follows_from_the_structure_and_nothing_else() -> None:
    rt = Runtime(registry=REG)
    first = rt.prepare(chain(5))
    rt.run(first)
    assert first.all_held_under is not None and first.all_needed
    edit = chain(5)
    edit["nodes"]["n3"]["params"]["value"] = 7
    second = rt.prepare(edit)
    assert second.order == first.order and second.sinks is first.sinks
    assert second.targets is first.targets and second.predicting is first.predicting
    assert second.keys["n2"] == first.keys["n2"] and second.keys["n3"] != first.keys["n3"]
    assert second.key_set == frozenset(second.keys.values()) != first.key_set
    assert second.all_held_under is None
    assert decide(second, rt.store) == {"n0": "cached", "n1": "cached", "n2": "cached",
                                       "n3": "execute", "n4": "execute"}
    assert rt.run(second).outputs == {"x": 10.0}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform does not fork")
def test_a_forked_child_gets_run_ids_of_its_own() -> None:
    from graphrt.core import execute

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its pid as the run id holds it, and leave at once
        os.write(write, str(execute._PID[0] == os.getpid()).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"True" and execute._PID[0] == os.getpid()
