"""Distributed results are bit-identical to local ones, for every graph in graphs/."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrt import Runtime
from graphrt.core.errors import NotSerializable
from graphrt.core.store import codec
from graphrt.distributed import RayExecutor

pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[2]
GRAPHS = sorted((ROOT / "graphs").glob("*.json"))


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.stem)
def test_every_graph_matches_a_local_run_bit_for_bit(
        path: Path, shared_cluster: tuple[Runtime, RayExecutor, Path], tmp_path: Path) -> None:
    rt, executor, base = shared_cluster
    local = Runtime(device="cpu", output_dir=tmp_path / "local")
    expected = local.run(path)
    got = rt.run(path)
    assert got.ok and expected.ok, got.failed
    # each node once (earlier graphs left some of this one's in the cluster's cache)
    assert len(set(got.executed)) == len(got.executed)
    assert set(got.executed) | set(got.cached) == set(expected.executed)
    assert got.stats["model_calls"] == got.stats["predicted_model_calls"]
    for mine, theirs in zip(got.outputs["images"], expected.outputs["images"], strict=True):
        assert (base / "out" / mine).read_bytes() == (tmp_path / "local" / theirs).read_bytes()
    plan, mine_keys = rt.prepare(path), local.prepare(path).keys
    compared = 0
    for node in plan.order:
        if plan.node(node).spec.is_output:  # its key names its output folder
            continue
        assert plan.keys[node] == mine_keys[node]
        theirs = local.store.get(mine_keys[node])
        try:
            want = codec.encode(theirs)
        except NotSerializable:  # a model: never leaves its worker
            continue
        (value,) = executor.fetch([plan.keys[node]]).values()
        assert codec.encode(value) == want, node
        compared += 1
    assert compared >= len(plan.order) // 2
