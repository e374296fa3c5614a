"""Keys assembled from a template are the bytes packing the links gives
(graphrt.core.keyer): nodes of one, two and variadic ports, ports given in any order,
links to other output ports, graph inputs, run settings and repeated recipes."""

import pytest

from graphrt import Registry
from graphrt.core.document import load_graph
from graphrt.core.graph import Graph
from graphrt.core.keyer import Keyer
from graphrt.core.paths import Folders
from graphrt.core.plan import make_plan
from graphrt.core.settings import RunSettings
from graphrt.core.validate import validate
from graphrt.library import default_registry
from tests.fakeops import FAKE_OPS
from tests.unit.test_scale import chain, wide

REG = Registry(FAKE_OPS)

MIXED = {"nodes": {
    "c": {"op": "test.const", "params": {"value": 2}},
    "d": {"op": "test.const", "params": {"value": 2}},
    "s": {"op": "test.split", "in": {"a": "c.out"}, "params": {"value": 1}},
    "ab": {"op": "test.add", "in": {"b": "s.low", "a": "d.out"}},  # ports out of order
    "ba": {"op": "test.add", "in": {"a": "s.high", "b": "s.low"}},
    "one": {"op": "test.add", "in": {"a": "s.low"}},
    "sum": {"op": "test.sum", "in": {"xs": ["ab.out", "ba.out", "one.out", "c.out"]}},
    "last": {"op": "test.add", "in": {"a": "sum.out", "b": "sum.out"}, "params": {"value": 3}},
}}


def both_ways(graph: Graph, settings: RunSettings | None = None) -> tuple[dict, dict]:
    """(keys from `Keyer.key`, keys from packing every node's links)."""
    settings = settings or RunSettings()
    fast: dict[str, str] = {}
    slow: dict[str, str] = {}
    fast_key = Keyer(fast, Folders(), settings, []).key
    slow_keyer = Keyer(slow, Folders(), settings, [])
    for node_id in graph.order:
        fast[node_id] = fast_key(graph.nodes[node_id])[0]
        slow[node_id] = slow_keyer._packed(graph.nodes[node_id])[0]
    return fast, slow


@pytest.mark.parametrize("doc", [MIXED, chain(50), wide(50)], ids=["mixed", "chain", "wide"])
def test_templated_keys_are_the_packed_keys(doc: dict) -> None:
    fast, slow = both_ways(validate(load_graph(doc), REG))
    assert fast == slow
    if doc is MIXED:  # c and d share a recipe, and nothing else does
        assert fast["c"] == fast["d"] and len(set(fast.values())) == len(fast) - 1


def test_repeated_recipes_are_keyed_from_templates() -> None:
    graph = validate(load_graph(chain(20)), REG)
    keyer = Keyer({}, Folders(), RunSettings(), [])
    for node_id in graph.order:
        keyer.keys[node_id] = keyer.key(graph.nodes[node_id])[0]
    assert [t for t in keyer.templates.values() if t] and len(keyer.templates) == 1


def test_templates_tell_upstream_ports_apart() -> None:
    fast, _ = both_ways(validate(load_graph(MIXED), REG))
    swapped = {**MIXED["nodes"], "ba": {"op": "test.add", "in": {"a": "s.low", "b": "s.high"}}}
    again, _ = both_ways(validate(load_graph({"nodes": swapped}), REG))
    assert again["ba"] != fast["ba"] and again["s"] == fast["s"]


def test_library_graphs_key_the_same_both_ways() -> None:
    from pathlib import Path

    registry = default_registry()
    graphs = sorted(Path(__file__).resolve().parents[2].joinpath("graphs").glob("*.json"))
    assert graphs
    for path in graphs:
        plan = make_plan(validate(load_graph(str(path)), registry))
        for settings in (RunSettings(), RunSettings("cuda", "float16")):
            fast, slow = both_ways(plan.graph, settings) if plan.graph.order else ({}, {})
            assert fast == slow, path.name
