"""A graph with declared inputs and outputs is an op inside another graph."""

import pytest

from graphrt import InvalidGraph, Registry, Runtime
from graphrt.core.subgraph import graph_op
from tests.fakeops import FAKE_OPS

PLUS_K = {
    "description": "x + k, then doubled by a second add",
    "args": {"k": {"type": "float", "default": 10}},
    "inputs": {"x": {"type": "FLOAT"}},
    "nodes": {
        "plus": {"op": "test.add", "in": {"a": "$x"}, "params": {"value": {"arg": "k"}}},
        "twice": {"op": "test.add", "in": {"a": "plus.out", "b": "plus.out"}},
    },
    "outputs": {"y": "twice.out", "partial": "plus.out"},
}


def registry() -> Registry:
    reg = Registry(FAKE_OPS)
    reg.add(graph_op("test.plus_k", PLUS_K, reg))
    return reg


def outer(k: float) -> dict:
    return {"nodes": {
        "c": {"op": "test.const", "params": {"value": 1}},
        "s": {"op": "test.plus_k", "in": {"x": "c.out"}, "params": {"k": k}},
        "sum": {"op": "test.sum", "in": {"xs": ["s.y", "s.partial"]}},
    }, "outputs": {"out": "sum.out"}}


def test_subgraph_expands_inline_and_caches_each_inner_node() -> None:
    spec = registry()["test.plus_k"]
    assert [p.name for p in spec.inputs] == ["x"] and [p.name for p in spec.outputs] == [
        "y", "partial"]
    assert spec.outputs[0].type.name == "FLOAT"
    rt = Runtime(registry=registry())
    first = rt.run(outer(5))
    assert first.outputs == {"out": 12.0 + 6.0}
    assert sorted(first.executed) == ["c", "s/plus", "s/twice", "sum"]
    assert rt.run(outer(5)).executed == []
    assert sorted(rt.run(outer(6)).executed) == ["s/plus", "s/twice", "sum"]


def test_subgraph_params_are_validated_like_any_op() -> None:
    with pytest.raises(InvalidGraph) as err:
        Runtime(registry=registry()).run(outer("many"))  # type: ignore[arg-type]
    issue = err.value.issues[0]
    assert (issue.code, issue.node, issue.field) == ("param_wrong_type", "s", "params.k")


def test_graph_with_inputs_cannot_run_on_its_own() -> None:
    with pytest.raises(InvalidGraph) as err:
        Runtime(registry=FAKE_OPS).run(PLUS_K)
    assert err.value.issues[0].code == "unbound_input"
