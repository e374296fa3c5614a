"""Macro expansion: one node checker for macros too, a new graph, provenance as fields."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from graphrt import InvalidGraph, Runtime, macro
from graphrt.core.document import Ref, load_graph
from graphrt.core.expand import Builder, expand
from graphrt.core.registry import Registry
from graphrt.core.types import Float
from graphrt.core.validate import validate
from tests.fakeops import FAKE_OPS


class Mistake(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = "range"


@macro("test.mistaken")
def mistaken(p: Mistake, g: Builder, a: Ref[Float]) -> Ref[Float]:
    """Builds one good node, then one with the mistake named by `kind`."""
    good = g.add("test.add", {"value": 1.0}, id="good", a=a).out
    if p.kind == "range":
        return g.add("test.add", {"value": 1e12}, id="bad", a=good).out
    if p.kind == "type":
        text = g.add("test.text", {"text": "x"}, id="text").out
        return g.add("test.add", {}, id="bad", a=text).out
    return g.add("test.add", {}, id="bad").out  # missing input


REG = Registry([*FAKE_OPS, mistaken])


def doc(kind: str) -> dict[str, Any]:
    return {"nodes": {"one": {"op": "test.const", "params": {"value": 1.0}},
                      "m": {"op": "test.mistaken", "in": {"a": "one.out"},
                            "params": {"kind": kind}}},
            "outputs": {"x": "m.out"}}


@pytest.mark.parametrize(("kind", "code", "field"), [
    ("range", "param_above_max", "params.value"), ("type", "type_mismatch", "in.a"),
    ("missing", "missing_input", "in.a")])
def test_a_mistake_inside_a_macro_names_node_and_field(kind: str, code: str,
                                                        field: str) -> None:
    with pytest.raises(InvalidGraph) as err:
        Runtime(registry=REG).plan(doc(kind))
    (issue,) = err.value.issues
    assert (issue.code, issue.node, issue.field, issue.source) == (code, "m/bad", field, "m")
    assert "expansion of 'm' (test.mistaken)" in issue.message


def test_expansion_returns_a_new_graph_with_provenance_fields() -> None:
    checked = validate(load_graph({
        "nodes": {"one": {"op": "test.const", "params": {"value": 1.0}},
                  "r": {"op": "test.repeat_add", "in": {"a": "one.out"},
                        "params": {"times": 2}}},
        "outputs": {"x": "r.out"}}), REG)
    before = dict(checked.nodes)
    expanded = expand(checked, REG)
    assert dict(checked.nodes) == before and "r" in checked.nodes  # untouched
    assert "r" not in expanded.nodes
    step = expanded.nodes["r/step1"]
    assert (step.source, step.origin) == ("r", "r")
    assert expanded.nodes["one"].source == "one" and expanded.nodes["one"].origin is None
    assert str(expanded.outputs["x"]) == "r/step1.out"


def test_nested_macros_keep_the_users_node_as_source() -> None:
    @macro("test.twice")
    def twice(p: Mistake, g: Builder, a: Ref[Float]) -> Ref[Float]:
        return g.add("test.repeat_add", {"times": 1}, id="inner", a=a).out

    reg = Registry([*FAKE_OPS, twice])
    plan = Runtime(registry=reg).plan({
        "nodes": {"one": {"op": "test.const"},
                  "t": {"op": "test.twice", "in": {"a": "one.out"}}},
        "outputs": {"x": "t.out"}}).plan
    node = plan.node("t/inner/step0")
    assert (node.source, node.origin) == ("t", "t/inner")
