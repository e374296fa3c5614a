import pytest

from graphrt import InvalidGraph, Registry, Runtime
from graphrt.core.hashing import canonical, encode, node_key
from tests.fakeops import FAKE_OPS

REG = Registry(FAKE_OPS)

CHAIN = {"nodes": {
    "a": {"op": "test.const", "params": {"value": 1}},
    "b": {"op": "test.add", "in": {"a": "a.out"}},
    "c": {"op": "test.add", "in": {"a": "b.out"}, "params": {"value": 2}},
    "side": {"op": "test.add", "in": {"a": "a.out"}, "params": {"value": 5}},
    "join": {"op": "test.sum", "in": {"xs": ["c.out", "side.out"]}},
}, "outputs": {"x": "join.out"}}


def keys_of(doc: dict) -> dict[str, str]:
    return Runtime(registry=REG).plan(doc).plan.keys


def test_canonical_encoding_is_order_independent() -> None:
    assert encode({"b": 1, "a": [1.0, (2, 3)]}) == encode({"a": [1.0, [2, 3]], "b": 1})
    assert encode({"x": 1}) != encode({"x": 1.0})
    assert canonical({"n": 2**70}) == {"n": ["__bigint__", str(2**70)]}
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        encode(deep)


def test_golden_keys() -> None:
    """Pinned: a change here means every persisted cache is invalid; bump HASH_SCHEMA."""
    assert node_key("test.const", 1, {"value": 1.0}, []) == "ca16723ae2cf83f67ca8ea8ace620453"
    assert keys_of(CHAIN) == {
        "a": "ca16723ae2cf83f67ca8ea8ace620453",
        "b": "c36517d45f21c005e4e95df90e14d251",
        "c": "e17d6c4b605cb9f3b4e5e16396a9e406",
        "side": "215e42d902f32c6274587c232de2a92d",
        "join": "e416bcd7ca004ee071a6cfb1022d28e4",
    }


def test_param_change_changes_exactly_the_node_and_its_descendants() -> None:
    base = keys_of(CHAIN)
    changed = dict(CHAIN["nodes"])
    changed["b"] = {**changed["b"], "params": {"value": 3}}
    new = keys_of({**CHAIN, "nodes": changed})
    assert {n for n in base if base[n] != new[n]} == {"b", "c", "join"}


def test_order_is_deterministic_and_pruned() -> None:
    doc = {**CHAIN, "nodes": {**CHAIN["nodes"], "orphan": {"op": "test.const"}}}
    plans = [Runtime(registry=REG).plan(doc).plan.order for _ in range(3)]
    assert plans[0] == plans[1] == plans[2]
    assert "orphan" not in plans[0]
    assert plans[0].index("a") < plans[0].index("b") < plans[0].index("c") < plans[0].index("join")


def test_plan_report_before_running() -> None:
    rt = Runtime(registry=REG)
    assert {r["status"] for r in rt.plan(CHAIN).rows()} == {"execute"}
    rt.run(CHAIN)
    changed = dict(CHAIN["nodes"])
    changed["side"] = {**changed["side"], "params": {"value": 6}}
    rows = {r["node"]: r["status"] for r in rt.plan({**CHAIN, "nodes": changed}).rows()}
    assert rows == {"a": "cached", "b": "cached", "c": "cached", "side": "execute",
                    "join": "execute"}


def test_unknown_output_selection() -> None:
    with pytest.raises(InvalidGraph, match="no output 'nope'"):
        Runtime(registry=REG).plan(CHAIN, outputs=["nope"])


def test_canonical_walks_without_recursion() -> None:
    deep: list = []
    for _ in range(200_000):  # far beyond Python's recursion limit
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        canonical(deep)
    at_limit: object = 1
    for _ in range(63):
        at_limit = [at_limit]
    assert encode({"p": at_limit}) == encode({"p": at_limit})  # 64 levels with the map
