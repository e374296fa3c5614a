"""The durable queue: order, recovery after a crash, the pending limit, history pruning."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrt.fronts.server.queue import PromptQueue, QueueFull


def test_fifo_claim_and_finish(tmp_path: Path) -> None:
    q = PromptQueue(tmp_path / "q.db")
    numbers = [q.add(f"p{i}", {"prompt": {"i": i}}, "c", 10) for i in range(3)]
    assert numbers == [0, 1, 2]
    row = q.claim()
    assert row is not None and row.id == "p0" and row.status == "running" and row.attempts == 1
    q.finish("p0", "success", {"outputs": {}})
    running, pending = q.in_queue()
    assert running == [] and [r.id for r in pending] == ["p1", "p2"]
    assert [r.id for r in q.history()] == ["p0"] and q.get("p0").result == {"outputs": {}}


def test_a_reopened_queue_requeues_the_running_prompt(tmp_path: Path) -> None:
    q = PromptQueue(tmp_path / "q.db")
    for i in range(3):
        q.add(f"p{i}", {"prompt": {}}, None, 10)
    q.claim()  # p0 running when the process dies (no close)
    again = PromptQueue(tmp_path / "q.db")
    assert again.recover() == (["p0"], [])
    row = again.claim()
    assert row is not None and row.id == "p0" and row.attempts == 2
    assert again.count_pending() == 2


def test_full_queue_refuses(tmp_path: Path) -> None:
    q = PromptQueue(tmp_path / "q.db")
    q.add("a", {}, None, 1)
    with pytest.raises(QueueFull):
        q.add("b", {}, None, 1)
    assert q.get("b") is None


def test_history_is_pruned_and_deletes_respect_status(tmp_path: Path) -> None:
    q = PromptQueue(tmp_path / "q.db", max_history=2)
    for i in range(4):
        q.add(f"p{i}", {}, None, 10)
        q.claim()
        q.finish(f"p{i}", "success", {})
    assert [r.id for r in q.history()] == ["p2", "p3"]
    assert [r.id for r in q.history(max_items=1)] == ["p3"]
    q.add("x", {}, None, 10)
    assert q.delete(["x", "p2"], statuses=("pending",)) == 1
    assert q.clear(statuses=("success",)) == 2 and q.history() == []
