"""An edit of the last document is replanned only where it changed, with the same plan a
fresh prepare makes (graphrt.core.replan)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphrt import Runtime
from graphrt.core.errors import InvalidGraph
from graphrt.core.plan import Plan
from tests.fakeops import FAKE_OPS
from tests.unit.test_scale import chain


def fresh(doc: dict[str, Any], **kw: Any) -> Plan:
    return Runtime(registry=FAKE_OPS, cache_dir=None).prepare(doc, **kw)


def edited(doc: dict[str, Any], node: str, **params: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["nodes"][node]["params"].update(params)
    return out


def test_a_param_edit_rekeys_only_downstream_and_matches_a_fresh_plan() -> None:
    rt = Runtime(registry=FAKE_OPS)
    doc = chain(1000)
    first = rt.prepare(doc)
    second = rt.prepare(edited(doc, "n600", value=2))
    assert second.order is first.order  # shared with the previous plan: not replanned
    assert second.keys == fresh(edited(doc, "n600", value=2)).keys
    same = [n for n in first.order if first.keys[n] == second.keys[n]]
    assert same == [f"n{i}" for i in range(600)]
    assert rt.run(second).outputs == {"x": 1000.0}
    assert second.graph.doc.nodes["n600"].params == {"value": 2}
    assert second.document["graph"]["nodes"]["n600"]["params"] == {"value": 2}


def test_an_arg_edit_rekeys_the_nodes_that_use_it() -> None:
    doc = chain(50)
    doc["args"] = {"v": {"type": "float", "default": 1.0}}
    doc["nodes"]["n20"]["params"] = {"value": {"arg": "v"}}
    rt = Runtime(registry=FAKE_OPS)
    first = rt.prepare(doc, args={"v": 1.0})
    second = rt.prepare(doc, args={"v": 5.0})
    assert second.order is first.order
    assert second.keys == fresh(doc, args={"v": 5.0}).keys
    assert first.keys["n19"] == second.keys["n19"] and first.keys["n20"] != second.keys["n20"]
    assert rt.run(second).outputs == {"x": 53.0}


def test_an_override_edit_is_replanned_too() -> None:
    rt = Runtime(registry=FAKE_OPS)
    doc = chain(30)
    first = rt.prepare(doc, overrides={"n10.value": 3})
    second = rt.prepare(doc, overrides={"n11.value": 3})
    assert second.order is first.order
    assert second.keys == fresh(doc, overrides={"n11.value": 3}).keys


def test_an_invalid_edit_is_refused_as_a_fresh_prepare_refuses_it() -> None:
    rt = Runtime(registry=FAKE_OPS)
    doc = chain(10)
    rt.prepare(doc)
    bad = edited(doc, "n5", value=1e12)
    with pytest.raises(InvalidGraph) as replanned:
        rt.prepare(bad)
    with pytest.raises(InvalidGraph) as planned:
        fresh(bad)
    assert [(i.code, i.node, i.field) for i in replanned.value.issues] == \
        [(i.code, i.node, i.field) for i in planned.value.issues]


def test_a_macro_edit_or_a_structural_edit_plans_from_scratch() -> None:
    doc = {"nodes": {"a": {"op": "test.const", "params": {"value": 1}},
                     "r": {"op": "test.repeat_add", "in": {"a": "a.out"},
                           "params": {"value": 1, "times": 3}}},
           "outputs": {"x": "r.out"}}
    rt = Runtime(registry=FAKE_OPS)
    first = rt.prepare(doc)
    more = edited(doc, "r", times=5)
    second = rt.prepare(more)
    assert second.order is not first.order and len(second.order) == len(first.order) + 2
    assert second.keys == fresh(more).keys
    linked = copy.deepcopy(more)
    linked["nodes"]["b"] = {"op": "test.const", "params": {"value": 4}}
    linked["nodes"]["r"]["in"]["a"] = "b.out"
    assert rt.prepare(linked).keys == fresh(linked).keys


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 19), st.integers(-5, 5)), min_size=1, max_size=6))
def test_any_sequence_of_edits_gives_the_fresh_plan(edits: list[tuple[int, int]]) -> None:
    rt = Runtime(registry=FAKE_OPS, cache_dir=None)
    doc = chain(20)
    rt.prepare(doc)
    for node, value in edits:
        doc = edited(doc, f"n{node}", value=value)
        assert rt.prepare(doc).keys == fresh(doc).keys


@pytest.mark.parametrize(("before", "after"), [(0.0, -0.0), (-0.0, 0.0), (1, 1.0), (1.0, True)])
def test_values_python_calls_equal_but_keys_tell_apart_are_edits(before: Any,
                                                                 after: Any) -> None:
    """0.0 and -0.0 (or 1, 1.0 and True) are equal in Python; a key tells them apart, so a
    rerun's keys must not depend on which of them ran before: as a param, an override and
    an arg."""
    doc = chain(5)
    rt = Runtime(registry=FAKE_OPS)
    rt.prepare(edited(doc, "n2", value=before))
    assert rt.prepare(edited(doc, "n2", value=after)).keys == fresh(
        edited(doc, "n2", value=after)).keys
    rt.prepare(doc, overrides={"n3.value": before})
    assert rt.prepare(doc, overrides={"n3.value": after}).keys == fresh(
        doc, overrides={"n3.value": after}).keys
    with_arg = edited(doc, "n1", value={"arg": "v"})
    with_arg["args"] = {"v": {"type": "json"}}
    rt.prepare(with_arg, args={"v": before})
    assert rt.prepare(with_arg, args={"v": after}).keys == fresh(with_arg, args={"v": after}).keys


@pytest.mark.parametrize(("a", "b", "same"), [
    ({"x": [1, {"y": 0.0}]}, {"x": [1, {"y": 0.0}]}, True),
    ({"x": [1, {"y": 0.0}]}, {"x": [1, {"y": -0.0}]}, False),
    ({"x": (1, 2)}, {"x": [1, 2]}, False), ({"x": 1}, {"x": True}, False),
    ({"x": "a", "y": None}, {"y": None, "x": "a"}, True), ({"x": {1: 2}}, {"x": {1: 2}}, False),
    ({"x": float("nan")}, {"x": float("nan")}, False), (None, None, True),
    ({"x": 1, "y": 1.0}, {"y": 1, "x": 1.0}, False), ({"x": 1, "y": 1.0}, {"y": 1.0, "x": 1}, True),
    ({"x": 0, "y": -0.0}, {"x": 0, "y": 0.0}, False), ({"x": 0}, {"x": 0.0}, False),
])
def test_same_data_is_equality_as_keys_see_it(a: Any, b: Any, same: bool) -> None:
    from graphrt.core.hashing import encode, same_data, same_params

    assert same_data(a, b) is same
    assert same_params(a, b) is same
    if same:
        assert encode(a) == encode(b)
