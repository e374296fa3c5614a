"""Documents that skip invalid outputs (`"skip_invalid_outputs": true`, graphrt.core.partial):
an output whose nodes have issues is dropped and named in `Plan.dropped_outputs`; the rest
runs. Issues on no node, or on every output, refuse the document as without the flag."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from graphrt import Runtime
from graphrt.core.errors import Code, InvalidGraph, Issue
from graphrt.core.graph import Graph
from tests.fakeops import FAKE_OPS
from tests.unit.test_plan_reuse import note


def doc(**extra: Any) -> dict[str, Any]:
    """Two outputs on one constant: `good` (c + 1) and `bad` (a param that is no number)."""
    return {"skip_invalid_outputs": True, "nodes": {
        "c": {"op": "test.const", "params": {"value": 1}},
        "good": {"op": "test.add", "in": {"a": "c.out"}, "params": {"value": 1}},
        "bad": {"op": "test.add", "in": {"a": "c.out"}, "params": {"value": "x"}}},
        "outputs": {"g": "good.out", "b": "bad.out"}, **extra}


def runtime(**kw: Any) -> Runtime:
    return Runtime(registry=[*FAKE_OPS, note], cache_dir=None, **kw)


def test_a_bad_output_is_dropped_and_the_rest_runs() -> None:
    rt = runtime()
    plan = rt.prepare(doc())
    assert list(plan.outputs) == ["g"] and "bad" not in plan.order
    (issue,) = plan.dropped_outputs["b"]
    assert list(plan.dropped_outputs) == ["b"]
    assert (issue.node, issue.field, issue.code) == ("bad", "params.value",
                                                     Code.PARAM_WRONG_TYPE)
    result = rt.run(plan)
    assert result.ok and result.outputs == {"g": 2.0}
    assert rt.run(doc()).outputs == {"g": 2.0}  # run() prepares the same way


def test_without_the_flag_the_document_is_refused() -> None:
    plain = doc()
    del plain["skip_invalid_outputs"]
    with pytest.raises(InvalidGraph) as refused:
        runtime().prepare(plain)
    assert [i.node for i in refused.value.issues] == ["bad"]


def test_every_output_bad_refuses_with_every_issue() -> None:
    data = doc()
    data["nodes"]["good"]["params"]["value"] = "y"
    with pytest.raises(InvalidGraph) as refused:
        runtime().prepare(data)
    assert {i.node for i in refused.value.issues} == {"good", "bad"}


@pytest.mark.parametrize("change", [
    {"args": {"s": {"type": "int", "required": True}}},  # a missing arg: no node
    {"outputs": {"g": "good.out", "b": "bad.out", "x": "nowhere.out"}},  # names no node
])
def test_an_issue_on_no_node_refuses(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidGraph) as refused:
        runtime().prepare(doc(**change))
    assert any(i.node is None for i in refused.value.issues)
    assert any(i.node == "bad" for i in refused.value.issues)  # every issue is reported


def test_a_broken_node_no_output_needs_is_never_checked() -> None:
    data = doc()
    data["nodes"]["bad"]["params"]["value"] = 2
    data["nodes"]["orphan"] = {"op": "test.nope", "in": {"a": "missing.out"}}
    plan = runtime().prepare(data)
    assert plan.dropped_outputs == {} and set(plan.outputs) == {"g", "b"}
    assert "orphan" not in plan.graph.doc.nodes
    del data["skip_invalid_outputs"]
    with pytest.raises(InvalidGraph, match="test.nope"):
        runtime().prepare(data)


def test_a_shared_node_drops_every_output_that_needs_it() -> None:
    data = doc()
    data["nodes"]["bad"]["params"]["value"] = 2
    data["nodes"]["mid"] = {"op": "test.add", "in": {"a": "c.out"}, "params": {"value": []}}
    data["nodes"]["u1"] = {"op": "test.add", "in": {"a": "mid.out"}}
    data["nodes"]["u2"] = {"op": "test.add", "in": {"a": "u1.out", "b": "good.out"}}
    data["outputs"].update(u1="u1.out", u2="u2.out")
    plan = runtime().prepare(data)
    assert set(plan.dropped_outputs) == {"u1", "u2"} and set(plan.outputs) == {"g", "b"}
    assert {i.node for issues in plan.dropped_outputs.values() for i in issues} == {"mid"}


def test_links_to_missing_nodes_and_cycles_drop_their_outputs() -> None:
    data = doc()
    data["nodes"]["bad"] = {"op": "test.add", "in": {"a": "ghost.out"}}
    data["nodes"]["p"] = {"op": "test.add", "in": {"a": "q.out"}}
    data["nodes"]["q"] = {"op": "test.add", "in": {"a": "p.out"}}
    data["outputs"]["loop"] = "q.out"
    plan = runtime().prepare(data)
    assert set(plan.dropped_outputs) == {"b", "loop"}
    assert plan.dropped_outputs["b"][0].code == Code.UNKNOWN_NODE
    assert plan.dropped_outputs["loop"][0].code == Code.CYCLE


def test_selected_outputs_are_checked_alone() -> None:
    rt = runtime()
    plan = rt.prepare(doc(), outputs=["g"])
    assert plan.dropped_outputs == {} and list(plan.outputs) == ["g"]
    with pytest.raises(InvalidGraph) as refused:
        rt.prepare(doc(), outputs=["b"])
    assert [i.node for i in refused.value.issues] == ["bad"]
    with pytest.raises(InvalidGraph) as refused:
        rt.prepare(doc(), outputs=["nope"])
    assert refused.value.issues[0].code == Code.UNKNOWN_OUTPUT


def test_args_and_overrides() -> None:
    rt = runtime()
    fixed = rt.prepare(doc(), overrides={"bad.value": 5})
    assert fixed.dropped_outputs == {} and rt.run(fixed).outputs == {"g": 2.0, "b": 6.0}
    broke = rt.prepare(doc(), overrides={"good.value": "z", "bad.value": 5})
    assert set(broke.dropped_outputs) == {"g"}
    data = doc()
    data["nodes"]["orphan"] = {"op": "test.const"}
    assert rt.prepare(data, overrides={"orphan.value": 3}).dropped_outputs.keys() == {"b"}
    with pytest.raises(InvalidGraph, match="ghost"):  # an override naming no node at all
        rt.prepare(doc(), overrides={"ghost.value": 3})


def test_an_arg_used_by_one_output_drops_only_it() -> None:
    data = doc(args={"v": {"type": "json", "default": 1}})
    data["nodes"]["bad"]["params"]["value"] = {"arg": "v"}
    rt = runtime()
    assert rt.prepare(data).dropped_outputs == {}
    plan = rt.prepare(data, args={"v": "not a number"})
    assert set(plan.dropped_outputs) == {"b"} and rt.run(plan).outputs == {"g": 2.0}


def test_host_checks_drop_the_outputs_of_the_nodes_they_flag() -> None:
    def flag(node: str) -> Any:
        def check(graph: Graph) -> list[Issue]:
            return [Issue(code=Code.UNSAFE_PATH, node=n.id, message="no", source=n.source)
                    for n in graph.nodes.values() if n.source == node]
        return check

    data = doc()
    data["nodes"]["bad"]["params"]["value"] = 2
    data["nodes"]["rep"] = {"op": "test.repeat_add", "in": {"a": "c.out"},
                            "params": {"times": 2}}
    data["outputs"]["r"] = "rep.out"
    rt = runtime()
    plan = rt.prepare(data, checks=[flag("rep")])  # expanded nodes count as their source
    assert set(plan.dropped_outputs) == {"r"}
    assert all(i.source == "rep" for i in plan.dropped_outputs["r"])
    assert rt.run(plan).outputs == {"g": 2.0, "b": 3.0}
    with pytest.raises(InvalidGraph) as refused:  # one dropped checking, one by the host
        rt.prepare(doc(), checks=[flag("good")])
    assert {i.node for i in refused.value.issues} == {"bad", "good"}
    with pytest.raises(InvalidGraph) as refused:  # a node every output needs
        rt.prepare(data, checks=[flag("c")])
    assert {i.node for i in refused.value.issues} == {"c"}
    with pytest.raises(InvalidGraph):  # an issue on no node
        rt.prepare(doc(), checks=[lambda g: [Issue(code=Code.LIMIT_EXCEEDED, message="x")]])


def test_a_file_planning_cannot_read_drops_its_output(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    data = doc()
    data["nodes"]["bad"]["params"]["value"] = 2
    data["nodes"].update(na={"op": "test.note", "params": {"name": "a.txt"}},
                         nb={"op": "test.note", "params": {"name": "gone.txt"}})
    data["outputs"].update(ta="na.out", tb="nb.out")
    rt = runtime(input_dir=tmp_path)
    plan = rt.prepare(data)
    assert set(plan.dropped_outputs) == {"tb"}
    assert plan.dropped_outputs["tb"][0].code == Code.BAD_FILE
    assert rt.run(plan).outputs == {"g": 2.0, "b": 3.0, "ta": "one"}


def test_an_edit_that_breaks_an_output_drops_it_and_resubmission_reuses_the_plan(
        plans_made: list[int]) -> None:
    rt = runtime()
    data = doc()
    data["nodes"]["bad"]["params"]["value"] = 2
    assert rt.prepare(data).dropped_outputs == {}
    edited = copy.deepcopy(data)
    edited["nodes"]["good"]["params"]["value"] = "oops"  # replanning refuses; dropped instead
    plan = rt.prepare(edited)
    assert set(plan.dropped_outputs) == {"g"}
    assert rt.prepare(copy.deepcopy(edited)) is plan  # identical: the plan and its drops
    count = len(plans_made)
    fixed = copy.deepcopy(edited)
    fixed["nodes"]["good"]["params"]["value"] = 4
    assert rt.prepare(fixed).dropped_outputs == {}  # not replanned from a plan with drops
    assert len(plans_made) == count + 1


def test_translation_issues_of_a_format_drop_their_outputs() -> None:
    """A format may hand back a document that skips invalid outputs with issues of its
    nodes: they count as those nodes' issues (the strict `load` still refuses them)."""

    class Foreign:
        name = "foreign"

        def sniff(self, raw: bytes) -> bool:
            return False

        def unpack(self, raw: bytes) -> tuple[dict[str, Any] | None, list[Issue]]:
            return None, []

        def detect(self, data: dict[str, Any]) -> bool:
            return "foreign" in data

        def translate(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
            native = doc()
            native["nodes"]["bad"]["params"]["value"] = 2
            native["nodes"]["orphan"] = {"op": "test.const"}
            return native, [Issue(code=Code.BAD_LINK, node=n, message="bad link")
                            for n in data["foreign"]]

    rt = Runtime(registry=FAKE_OPS, formats=[Foreign()], cache_dir=None)
    plan = rt.prepare({"foreign": ["bad", "orphan"]})
    assert set(plan.dropped_outputs) == {"b"}  # the orphan's issue is never looked at
    assert plan.dropped_outputs["b"][0].code == Code.BAD_LINK
    with pytest.raises(InvalidGraph):
        rt.load({"foreign": ["bad"]})
    with pytest.raises(InvalidGraph):  # on every output
        rt.prepare({"foreign": ["c"]})
    with pytest.raises(InvalidGraph):  # on a node the document does not have
        rt.prepare({"foreign": ["ghost"]})


def test_the_flag_is_part_of_the_document_and_off_by_default() -> None:
    from graphrt.core.document import load_graph

    assert load_graph(doc()).skip_invalid_outputs is True
    assert "skip_invalid_outputs" in load_graph(doc()).dump()
    plain = doc()
    del plain["skip_invalid_outputs"]
    assert load_graph(plain).skip_invalid_outputs is False
    assert "skip_invalid_outputs" not in load_graph(plain).dump()


def test_an_edit_of_a_document_with_unchecked_nodes_is_replanned(
        plans_made: list[int]) -> None:
    rt = runtime()
    data = doc()
    data["nodes"]["bad"]["params"]["value"] = 2
    data["nodes"]["orphan"] = {"op": "test.nope"}  # never checked, nor kept
    first = rt.prepare(data)
    edited = copy.deepcopy(data)
    edited["nodes"]["good"]["params"]["value"] = 7
    second = rt.prepare(edited)
    assert len(plans_made) == 1 and second.order is first.order  # replanned, not planned
    assert rt.run(second).outputs == {"g": 8.0, "b": 3.0}
    assert second.keys == runtime().prepare(edited).keys


def test_the_run_result_names_the_dropped_outputs_too() -> None:
    from graphrt import Registry, Runtime
    from tests.fakeops import FAKE_OPS

    doc = {"skip_invalid_outputs": True,
           "nodes": {"a": {"op": "test.const", "params": {"value": 2}},
                     "b": {"op": "test.add", "in": {"a": "nowhere.out"}}},
           "outputs": {"good": "a.out", "bad": "b.out"}}
    result = Runtime(registry=Registry(FAKE_OPS)).run(doc)
    assert result.outputs == {"good": 2.0} and list(result.dropped_outputs) == ["bad"]
    assert result.dropped_outputs["bad"][0].node == "b"
