"""The durable prompt queue and history: one SQLite table in WAL mode.

A prompt is a row that moves pending → running → success | error | interrupted. Every
change is one short transaction, committed before the HTTP answer or the WebSocket
message that reports it, so a kill -9 loses nothing: at start, `recover` puts a prompt
that was running back in the queue, and history stays. Each claim counts an attempt; a
prompt the server died during `max_attempts` times is handed back to be failed, not run
again (a prompt that kills the server would otherwise do so at every start). Rows are read
and written from the HTTP threads and the worker thread, serialized by one lock.

A prompt's end is never lost to a storage fault: when its row cannot be written (a full
disk, an I/O error), the end is held in memory, shown by every read as if written, and
written by `flush` once the database takes writes again. Other writes raise sqlite3.Error,
which the HTTP layer answers with 503.
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
class HistoryPage:
    """Finished prompts `offset`, `offset + 1`, … (oldest first) of `total`."""

    rows: list[PromptRow]
    total: int
    offset: int


@dataclass
class JobRow:
    """A prompt as the jobs view lists it: no body, only the workflow id it carries."""

    id: str
    number: int
    status: str
    created: float
    started: float | None
    finished: float | None
    workflow_id: str | None
    result: dict[str, Any] | None


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
        self._held: dict[str, tuple[str, float, str]] = {}  # id → unwritten (status, when, result)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def recover(self, max_attempts: int | None = None) -> tuple[list[str], list[PromptRow]]:
        """Put prompts left running by a crash back at the head of the queue; (their ids, the
        rows left running because they were tried `max_attempts` times: fail them)."""
        with self._lock:
            rows = [_row(r) for r in self._db.execute(
                "SELECT * FROM prompts WHERE status = 'running' ORDER BY number")]
            spent = [r for r in rows if max_attempts is not None and r.attempts >= max_attempts]
            again = [r.id for r in rows if r not in spent]
            self._db.executemany("UPDATE prompts SET status = 'pending', started = NULL "
                                 "WHERE id = ?", [(i,) for i in again])
        return again, spent

    def requeue(self, prompt_id: str) -> None:
        """Put a running prompt back at the head of the queue, its attempt not counted (the
        server is stopping, not dying)."""
        with self._lock:
            self._db.execute("UPDATE prompts SET status = 'pending', started = NULL, "
                             "attempts = MAX(attempts - 1, 0) WHERE id = ? AND "
                             "status = 'running'", (prompt_id,))

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
                self._rollback()
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

    def finish(self, prompt_id: str, status: str, result: dict[str, Any]) -> bool:
        """Record a prompt's end; prune the oldest history beyond `max_history`. False when
        it could not be written: it is then held in memory until `flush` writes it."""
        assert status in FINISHED
        try:
            text = json.dumps(result)
        except (TypeError, ValueError) as exc:  # a result that is not JSON: keep its status
            text = json.dumps({"status": result.get("status", {}),
                               "graphrt": {"unrecorded": f"{type(exc).__name__}: {exc}"}})
        with self._lock:
            self._held[prompt_id] = (status, time.time(), text)
        return self.flush()

    def flush(self) -> bool:
        """Write the prompt ends held in memory; True when none is left."""
        with self._lock:
            for prompt_id, (status, when, text) in list(self._held.items()):
                try:
                    self._write_end(prompt_id, status, when, text)
                except sqlite3.Error:
                    return False
                del self._held[prompt_id]
        return True

    @property
    def held(self) -> int:
        """Prompt ends not yet written."""
        return len(self._held)

    def _write_end(self, prompt_id: str, status: str, when: float, text: str) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("UPDATE prompts SET status = ?, finished = ?, result = ? "
                             "WHERE id = ?", (status, when, text, prompt_id))
            self._db.execute(
                "DELETE FROM prompts WHERE status IN ('success', 'error', 'interrupted') AND "
                "number <= (SELECT number FROM prompts WHERE status IN "
                "('success', 'error', 'interrupted') ORDER BY number DESC LIMIT 1 OFFSET ?)",
                (self.max_history,))
        except BaseException:
            self._rollback()
            raise
        self._db.execute("COMMIT")

    def get(self, prompt_id: str) -> PromptRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM prompts WHERE id = ?", (prompt_id,)).fetchone()
            return self._parsed(row) if row else None

    def in_queue(self) -> tuple[list[PromptRow], list[PromptRow]]:
        """(running, pending), in queue order."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM prompts WHERE status IN "
                                    "('running', 'pending') ORDER BY number").fetchall()
            parsed = [self._parsed(r) for r in rows]
        return ([r for r in parsed if r.status == "running"],
                [r for r in parsed if r.status == "pending"])

    def count_pending(self) -> int:
        with self._lock:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM prompts WHERE status = 'pending'").fetchone()
        return int(n)

    def history(self, max_items: int | None = None, offset: int | None = None,
                max_bytes: int | None = None) -> list[PromptRow]:
        """Finished prompts, oldest first (see `history_page`)."""
        return self.history_page(max_items, offset, max_bytes).rows

    def history_page(self, max_items: int | None = None, offset: int | None = None,
                     max_bytes: int | None = None) -> HistoryPage:
        """Finished prompts from `offset` (counted from the oldest; None: the newest
        `max_items`), at most `max_items` of them, stopping before the stored bytes read pass
        `max_bytes` (one row at least), oldest first: ComfyUI's paging, bounded."""
        with self._lock:
            held = list(self._held)
            where = "status IN ('success', 'error', 'interrupted')" + (
                f" OR id IN ({','.join('?' * len(held))})" if held else "")
            (total,) = self._db.execute(f"SELECT COUNT(*) FROM prompts WHERE {where}",
                                        held).fetchone()
            if offset is None:
                offset = max(total - max_items, 0) if max_items is not None else 0
            cursor = self._db.execute(
                f"SELECT * FROM prompts WHERE {where} ORDER BY number LIMIT ? OFFSET ?",
                (*held, -1 if max_items is None else max_items, offset))
            rows: list[PromptRow] = []
            size = 0
            for row in cursor:
                size += len(row[4]) + len(row[9] or "")
                if rows and max_bytes is not None and size > max_bytes:
                    break
                rows.append(self._parsed(row))
            cursor.close()
        return HistoryPage(rows, int(total), offset)

    def jobs(self, statuses: tuple[str, ...], *, workflow_id: str | None = None,
             by_duration: bool = False, descending: bool = True, limit: int = 200,
             offset: int = 0) -> tuple[list[JobRow], int]:
        """(a page of the prompts whose status is one of `statuses`, how many there are),
        newest (or longest running) first unless not `descending`; bodies are not read."""
        marks = ",".join("?" * len(statuses))
        workflow = "json_extract(body, '$.extra_data.extra_pnginfo.workflow.id')"
        order = "COALESCE(finished, 0) - COALESCE(started, 0)" if by_duration else "created"
        way = "DESC" if descending else "ASC"
        with self._lock:
            held = [k for k in self._held]
            held_in = [k for k, v in self._held.items() if v[0] in statuses]
            where = (f"((status IN ({marks}) AND id NOT IN ({','.join('?' * len(held))}))"
                     f" OR id IN ({','.join('?' * len(held_in))}))")
            params: list[Any] = [*statuses, *held, *held_in]
            if workflow_id is not None:
                where += f" AND {workflow} = ?"
                params.append(workflow_id)
            (total,) = self._db.execute(f"SELECT COUNT(*) FROM prompts WHERE {where}",
                                        params).fetchone()
            rows = self._db.execute(
                f"SELECT id, number, status, created, started, finished, {workflow}, result "
                f"FROM prompts WHERE {where} ORDER BY {order} {way}, number {way} "
                "LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
            jobs = []
            for r in rows:
                job = JobRow(r[0], r[1], r[2], r[3], r[4], r[5],
                             r[6] if isinstance(r[6], str) else None,
                             json.loads(r[7]) if r[7] else None)
                if job.id in self._held:
                    status, when, text = self._held[job.id]
                    job.status, job.finished, job.result = status, when, json.loads(text)
                jobs.append(job)
        return jobs, int(total)

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

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already (it may on a full disk)."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _parsed(self, row: tuple[Any, ...]) -> PromptRow:
        """A row as read, with its end overlaid when that is held in memory (lock held)."""
        parsed = _row(row)
        if parsed.id in self._held:
            status, when, text = self._held[parsed.id]
            parsed.status, parsed.finished, parsed.result = status, when, json.loads(text)
        return parsed


_COLUMNS = ("id", "number", "status", "client_id", "body", "created", "started", "finished",
            "attempts", "result")


def _row(row: tuple[Any, ...]) -> PromptRow:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["body"] = json.loads(data["body"])
    data["result"] = json.loads(data["result"]) if data["result"] else None
    return PromptRow(**data)
