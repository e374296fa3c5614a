"""The engine's per-node shortcuts give what the long way gives (docs/performance.md)."""

import gc

import msgpack
import pytest
import xxhash

from graphrt import InvalidGraph, Registry, Runtime
from graphrt.core.check import check_params, params_key
from graphrt.core.document import load_graph
from graphrt.core.errors import Code
from graphrt.core.graph import Node
from graphrt.core.hashing import HASH_SCHEMA, canonical, key_from, node_key, recipe_head
from graphrt.core.plan import decide
from graphrt.core.validate import validate
from graphrt.core.values import nbytes
from tests.fakeops import FAKE_OPS, Value, add

REG = Registry(FAKE_OPS)


def const(value: object) -> dict:
    return {"op": "test.const", "params": {"value": value}}


def test_equal_flat_params_share_one_model_and_types_stay_apart() -> None:
    spec, issues = add.op_spec, []
    one = check_params(spec, {"value": 1}, "a", issues)
    assert check_params(spec, {"value": 1}, "b", issues) is one
    assert check_params(spec, {"value": 2}, "c", issues) is not one
    assert params_key({"value": 1}) != params_key({"value": 1.0}) != params_key({"value": True})
    assert params_key({"value": [1]}) is None  # not flat: validated every time
    assert params_key({"value": 0.5, "n": 0}) is None  # a float beside a zero: -0.0 vs 0.0
    assert not issues


@pytest.mark.parametrize("first", [0.0, -0.0])
def test_signed_zeros_key_apart_in_either_order(first: float) -> None:
    second = -first if first == 0.0 else first
    rt = Runtime(registry=REG)
    doc = {"nodes": {"a": const(first), "b": const(second)}}
    keys = rt.plan(doc).plan.keys
    assert keys["a"] != keys["b"]
    assert keys["a"] == node_key("test.const", 1, {"value": first}, [])


def test_a_shape_checked_once_still_reports_another_source_type() -> None:
    """Two test.add nodes with equal params: the second reads a STRING, so its shape differs
    and it is checked (and refused) on its own."""
    doc = {"nodes": {"x": const(1), "t": {"op": "test.text"},
                     "ok": {"op": "test.add", "in": {"a": "x.out"}},
                     "ok2": {"op": "test.add", "in": {"a": "ok.out"}},
                     "bad": {"op": "test.add", "in": {"a": "t.out"}}}}
    with pytest.raises(InvalidGraph) as err:
        validate(load_graph(doc), REG)
    assert [(i.code, i.node) for i in err.value.issues] == [(Code.TYPE_MISMATCH, "bad")]


def test_nodes_of_one_shape_get_their_own_links_and_the_shared_params() -> None:
    doc = {"nodes": {"x": const(1), "a": {"op": "test.add", "in": {"a": "x.out"}},
                     "b": {"op": "test.add", "in": {"a": "a.out"}},
                     "c": {"op": "test.add", "in": {"a": "b.out"}}}}
    graph = validate(load_graph(doc), REG)
    b, c = graph.nodes["b"], graph.nodes["c"]
    assert str(b.inputs["a"]) == "a.out" and str(c.inputs["a"]) == "b.out"
    assert b.params is c.params and b.upstream == ("a",) and c.upstream == ("b",)
    assert graph.order == ("x", "a", "b", "c")


def test_recipe_head_and_key_from_are_node_key() -> None:
    params = {"value": 1.5, "names": ["a", "b"], "deep": {"z": None, "a": 2**70}}
    inputs = [("b", "k2", "out"), ("a", "k1", "out")]
    body = [HASH_SCHEMA, "test.add", 3, canonical(params), None, ["cpu", "float32"],
            [list(i) for i in sorted(inputs)]]
    whole = xxhash.xxh3_128_hexdigest(msgpack.packb(body, use_bin_type=True,
                                                    use_single_float=False))
    head = recipe_head("test.add", 3, params)
    assert key_from(head, inputs, None, ["cpu", "float32"]) == whole
    assert node_key("test.add", 3, params, inputs, None, ["cpu", "float32"]) == whole
    assert key_from(head, inputs[:1]) != key_from(head, inputs[1:])


class _Lookup:
    """A cache that can only answer one key at a time (as an executor's index does)."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys

    def __contains__(self, key: object) -> bool:
        return key in self.keys


def test_decide_asks_stores_with_and_without_bulk_lookup_alike() -> None:
    doc = {"nodes": {"a": const(1), "b": {"op": "test.add", "in": {"a": "a.out"}},
                     "c": {"op": "test.add", "in": {"a": "b.out"}, "params": {"value": 3}}},
           "outputs": {"x": "c.out"}}
    rt = Runtime(registry=REG)
    plan = rt.prepare(doc)
    rt.run(plan)
    every = set(plan.keys.values())
    assert decide(plan, rt.store) == decide(plan, _Lookup(every)) == dict.fromkeys(
        plan.order, "cached")
    partial = {plan.keys["a"]}
    assert decide(plan, _Lookup(partial)) == {"a": "cached", "b": "execute", "c": "execute"}
    rt.store.memory.discard(plan.keys["b"])
    rt.store.memory.discard(plan.keys["c"])
    assert decide(plan, rt.store) == decide(plan, _Lookup(partial))


def test_nbytes_of_scalar_outputs_matches_the_general_walk() -> None:
    outs = {"out": 1.5, "name": "abc", "n": 2**80, "none": None}
    walked = nbytes([outs]) - nbytes([])  # through the general walk (a list around it)
    assert nbytes(outs) == walked
    assert nbytes({"out": [1.0, 2.0]}) == nbytes([[1.0, 2.0]]) - nbytes([])


def test_node_equality_and_replace() -> None:
    model = Value(value=1)
    node = Node("n", add.op_spec, model, {}, "n")
    assert node == Node("n", add.op_spec, model, {}, "n")
    other = node.replace(params=Value(value=2))
    assert other != node and other.id == "n" and other.params.value == 2  # type: ignore[attr-defined]


def test_planning_leaves_no_young_objects_for_the_collector() -> None:
    """What planning allocates is moved to the oldest generation, not scanned by the first
    young collection after it."""
    doc = {"nodes": {f"n{i}": const(i) for i in range(3000)}}
    rt = Runtime(registry=REG)
    gc.collect()
    rt.prepare(doc)
    assert gc.get_count()[0] < 700
