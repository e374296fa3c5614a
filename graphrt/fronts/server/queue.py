"""The durable prompt queue and history: one SQLite table in WAL mode.

A prompt is a row that moves pending → running → success | error | interrupted. Every
change is one short transaction, committed before the HTTP answer or the WebSocket
message that reports it, so a kill -9 loses nothing: at start, `recover` puts a prompt
that was running back in the queue, and history stays. Rows are read and written from the
HTTP threads and the worker thread, serialized by one lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS prompts (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    status TEXT NOT NULL,
    client_id TEXT,
    body TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT
);
CREATE INDEX IF NOT EXISTS prompts_status ON prompts (status, number);
"""
FINISHED = ("success", "error", "interrupted")


class QueueFull(Exception):
    """The queue holds as many pending prompts as it may."""


@dataclass
class PromptRow:
    """One prompt: its body as submitted, and (once finished) its result."""

    id: str
    number: int
    status: str
    client_id: str | None
    body: dict[str, Any]
    created: float
    started: float | None
    finished: float | None
    attempts: int
    result: dict[str, Any] | None


class PromptQueue:
    """Durable FIFO of prompts plus their history."""

    def __init__(self, path: Path, *, max_history: int = 10_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self.max_history = max_history
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def recover(self) -> list[str]:
        """Put prompts left running by a crash back at the head of the queue."""
        with self._lock:
            ids = [r[0] for r in self._db.execute(
                "SELECT id FROM prompts WHERE status = 'running'")]
            self._db.execute("UPDATE prompts SET status = 'pending', started = NULL "
                             "WHERE status = 'running'")
        return ids

    def add(self, prompt_id: str, body: dict[str, Any], client_id: str | None,
            max_pending: int) -> int:
        """Append a prompt; its queue number. Raises QueueFull past `max_pending`."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (pending,) = self._db.execute(
                    "SELECT COUNT(*) FROM prompts WHERE status = 'pending'").fetchone()
                if pending >= max_pending:
                    raise QueueFull(f"the queue is full ({pending} prompts pending)")
                (number,) = self._db.execute(
                    "SELECT COALESCE(MAX(number), -1) + 1 FROM prompts").fetchone()
                self._db.execute(
                    "INSERT INTO prompts (id, number, status, client_id, body, created) "
                    "VALUES (?, ?, 'pending', ?, ?, ?)",
                    (prompt_id, number, client_id, json.dumps(body), time.time()))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return int(number)

    def claim(self) -> PromptRow | None:
        """The oldest pending prompt, now marked running (attempts counted), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM prompts WHERE status = 'pending' ORDER BY number LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE prompts SET status = 'running', started = ?, "
                             "attempts = attempts + 1 WHERE id = ?", (time.time(), row[0]))
        return self.get(row[0])

    def finish(self, prompt_id: str, status: str, result: dict[str, Any]) -> None:
        """Record a prompt's end; prune the oldest history beyond `max_history`."""
        assert status in FINISHED
        with self._lock:
            self._db.execute("UPDATE prompts SET status = ?, finished = ?, result = ? "
                             "WHERE id = ?", (status, time.time(), json.dumps(result), prompt_id))
            self._db.execute(
                "DELETE FROM prompts WHERE status IN ('success', 'error', 'interrupted') AND "
                "number <= (SELECT number FROM prompts WHERE status IN "
                "('success', 'error', 'interrupted') ORDER BY number DESC LIMIT 1 OFFSET ?)",
                (self.max_history,))

    def get(self, prompt_id: str) -> PromptRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM prompts WHERE id = ?", (prompt_id,)).fetchone()
        return _row(row) if row else None

    def in_queue(self) -> tuple[list[PromptRow], list[PromptRow]]:
        """(running, pending), in queue order."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM prompts WHERE status IN "
                                    "('running', 'pending') ORDER BY number").fetchall()
        parsed = [_row(r) for r in rows]
        return ([r for r in parsed if r.status == "running"],
                [r for r in parsed if r.status == "pending"])

    def count_pending(self) -> int:
        with self._lock:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM prompts WHERE status = 'pending'").fetchone()
        return int(n)

    def history(self, max_items: int | None = None, offset: int = 0) -> list[PromptRow]:
        """Finished prompts, oldest first (the newest `max_items` when given)."""
        limit = -1 if max_items is None else max_items
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM (SELECT * FROM prompts WHERE status IN ('success', 'error', "
                "'interrupted') ORDER BY number DESC LIMIT ? OFFSET ?) ORDER BY number",
                (limit, offset)).fetchall()
        return [_row(r) for r in rows]

    def delete(self, ids: list[str], *, statuses: tuple[str, ...]) -> int:
        """Delete the given prompts if their status is one of `statuses`."""
        marks = ",".join("?" * len(statuses))
        with self._lock:
            cur = self._db.executemany(
                f"DELETE FROM prompts WHERE id = ? AND status IN ({marks})",
                [(i, *statuses) for i in ids])
        return cur.rowcount

    def clear(self, *, statuses: tuple[str, ...]) -> int:
        marks = ",".join("?" * len(statuses))
        with self._lock:
            cur = self._db.execute(f"DELETE FROM prompts WHERE status IN ({marks})", statuses)
        return cur.rowcount


_COLUMNS = ("id", "number", "status", "client_id", "body", "created", "started", "finished",
            "attempts", "result")


def _row(row: tuple[Any, ...]) -> PromptRow:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["body"] = json.loads(data["body"])
    data["result"] = json.loads(data["result"]) if data["result"] else None
    return PromptRow(**data)
