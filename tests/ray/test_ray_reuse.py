"""Results shared across workers: a key computed on one worker is used by another with no
recomputation, through Ray's object store (SPEC §13). The shared disk tier serving a fresh
worker is tested without Ray in tests/unit/test_distributed_worker.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphrt.core import events as ev
from graphrt.distributed import PartRouted

pytestmark = pytest.mark.ray
SPLIT = Path(__file__).resolve().parents[2] / "graphs" / "sdxl_split_sampler.json"


def test_a_key_computed_on_one_worker_is_used_by_another(cluster: Any) -> None:
    rt, executor = cluster(cache_dir=None)  # memory only: the value can only travel
    seen: list[ev.Event] = []
    result = rt.run(SPLIT, args={"width": 128, "height": 128, "seed": 7}, on_event=seen.append)
    assert result.ok
    base, refiner = [e for e in seen if isinstance(e, PartRouted)]
    assert base.worker != refiner.worker  # the two models on two GPUs
    latent = rt.prepare(SPLIT, args={"width": 128, "height": 128, "seed": 7}).keys["split/base"]
    assert "split/base" in base.nodes and "split/base" not in refiner.nodes
    assert refiner.fetched == {latent: base.worker}  # sent from A to B
    # nothing computed twice: every node once, the model calls of one local run
    assert sorted(result.executed) == sorted(result.statuses)
    assert result.stats["model_calls"] == 20 and result.stats["fetched"] == 1
    finished = [e.node for e in seen if isinstance(e, ev.NodeFinished)]
    assert sorted(finished) == sorted(result.executed)
    stats = executor.stats()["workers"]
    assert stats[refiner.worker]["fetched"] == 1 and stats[refiner.worker]["model_calls"] == 4
    assert executor.index.holders(latent) == sorted({base.worker, refiner.worker})
