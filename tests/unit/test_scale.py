"""Deep and wide graphs validate, plan and run at Python's default recursion limit."""

import sys

from graphrt import Registry, Runtime
from tests.fakeops import FAKE_OPS

REG = Registry(FAKE_OPS)


def chain(n: int) -> dict:
    nodes = {"n0": {"op": "test.const", "params": {"value": 0}}}
    for i in range(1, n):
        nodes[f"n{i}"] = {"op": "test.add", "in": {"a": f"n{i - 1}.out"}, "params": {"value": 1}}
    return {"nodes": nodes, "outputs": {"x": f"n{n - 1}.out"}}


def wide(n: int) -> dict:
    nodes = {f"c{i}": {"op": "test.const", "params": {"value": i % 7}} for i in range(n)}
    nodes["sum"] = {"op": "test.sum", "in": {"xs": [f"c{i}.out" for i in range(n)]}}
    return {"nodes": nodes, "outputs": {"x": "sum.out"}}


def test_ten_thousand_node_chain() -> None:
    assert sys.getrecursionlimit() == 1000
    rt = Runtime(registry=REG)
    result = rt.run(chain(10_000))
    assert result.outputs == {"x": 9999.0} and len(result.executed) == 10_000
    assert rt.run(chain(10_000)).executed == []


def test_thirty_thousand_node_wide_graph() -> None:
    rt = Runtime(registry=REG)
    result = rt.run(wide(30_000))
    assert result.outputs == {"x": float(sum(i % 7 for i in range(30_000)))}
    assert len(result.executed) == 30_001


def test_ten_thousand_step_macro_unrolls() -> None:
    doc = {"nodes": {"a": {"op": "test.const"},
                     "r": {"op": "test.repeat_add", "in": {"a": "a.out"},
                           "params": {"times": 10_000}}}, "outputs": {"x": "r.out"}}
    assert Runtime(registry=REG).run(doc).outputs == {"x": 10_000.0}
