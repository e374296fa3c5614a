"""Breaks 3 and 4: the state folder. One server per folder (an exclusive lock, a clear error
for the second); a prompt the server died during twice is failed, not retried forever; and
storage faults in the worker (a full state disk, found by SQLite itself: the database is
capped at its current size) end every prompt in history with a status its client is told,
while a full state disk answers 503, never 400 or 500."""

from __future__ import annotations

import contextlib
import queue as queue_module
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import graphrt.fronts.server.worker as worker_module
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import ServerConfig
from graphrt.fronts.server.lock import StateLock, StateLocked
from graphrt.fronts.server.queue import PromptQueue

from .live import ROOT, free_port
from .local import LocalClient, local_client
from .workflows import txt2img


def config(tmp_path: Path) -> ServerConfig:
    return ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                        input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                        device="cpu")


def test_a_second_server_on_the_same_state_folder_does_not_start(tmp_path: Path) -> None:
    first = create_app(config(tmp_path))
    with local_client(first), \
            pytest.raises(StateLocked, match="in use by another graphrt server"), \
            local_client(create_app(config(tmp_path))):
        pass
    with local_client(create_app(config(tmp_path))) as again:  # released when it stopped
        assert again.get("/queue").status_code == 200


def test_graphrt_serve_says_why_it_will_not_start(tmp_path: Path) -> None:
    holder = StateLock(tmp_path / "state")
    holder.acquire()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "graphrt", "serve", "--host", "127.0.0.1", "--port",
             str(free_port()), "--state-dir", str(tmp_path / "state"), "--device", "cpu"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        holder.release()
    assert done.returncode == 1, done.stderr[-2000:]
    assert "in use by another graphrt server" in done.stderr
    assert "Traceback" not in done.stderr


def _die_while_running(db: Path, prompt_id: str) -> None:
    queue = PromptQueue(db)
    assert queue.recover(2)[1] == []
    row = queue.claim()
    assert row is not None and row.id == prompt_id
    queue.close()  # no finish: the process died during the run


def test_a_prompt_that_kills_the_server_twice_is_failed_not_retried(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    queue = PromptQueue(cfg.db_path)
    queue.add("deadly", {"prompt": txt2img(), "args": None, "class_types": {"3": "KSampler"},
                         "format": "comfy"}, None, 10)
    queue.close()
    _die_while_running(cfg.db_path, "deadly")  # attempt 1
    _die_while_running(cfg.db_path, "deadly")  # attempt 2
    with local_client(create_app(cfg)) as client:
        entry = client.get("/history/deadly").json()["deadly"]
        assert client.get("/queue").json() == {"queue_running": [], "queue_pending": []}
    assert entry["graphrt"]["state"] == "error" and entry["graphrt"]["attempts"] == 2
    (last,) = [m for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert "stopped 2 times" in last[1]["exception_message"]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.png"))


def test_a_graceful_stop_does_not_count_an_attempt(tmp_path: Path) -> None:
    queue = PromptQueue(tmp_path / "q.db")
    queue.add("p", {}, None, 10)
    assert queue.claim().attempts == 1  # type: ignore[union-attr]
    queue.requeue("p")
    assert queue.claim().attempts == 1  # type: ignore[union-attr]


def _cap(client: LocalClient) -> Any:
    """Cap the server's queue database at its current size: the next write that needs a
    page fails in SQLite itself with SQLITE_FULL, as on a full disk."""
    db = client.app.state.server.queue._db  # type: ignore[attr-defined]
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")
    return db


def _told(ws: Any, prompt_id: str, timeout: float = 60) -> list[dict[str, Any]]:
    """What a client's WebSocket hears about a prompt, up to `executing` {node: null}; read
    on a helper thread so that a silence fails the test instead of hanging it."""
    heard: queue_module.Queue[dict[str, Any]] = queue_module.Queue()

    def listen() -> None:
        with contextlib.suppress(Exception):
            while True:
                heard.put(ws.receive_json())

    threading.Thread(target=listen, daemon=True).start()
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not messages or messages[-1] != {"type": "executing",
                                           "data": {"node": None, "prompt_id": prompt_id}}:
        message = heard.get(timeout=max(deadline - time.monotonic(), 0.01))
        if message["data"].get("prompt_id") == prompt_id:
            messages.append(message)
    return messages


def long_ids(prompt: dict[str, Any], pad: int = 240) -> dict[str, Any]:
    """`prompt` with long node ids, so that its result needs new pages to be written."""
    name = {k: f"{k}_{'x' * pad}" for k in prompt}
    renamed = {}
    for node, raw in prompt.items():
        inputs = {k: [name[v[0]], v[1]] if isinstance(v, list) else v
                  for k, v in raw["inputs"].items()}
        renamed[name[node]] = {**raw, "inputs": inputs}
    return renamed


def test_a_full_state_disk_during_a_run_still_ends_the_prompt(tmp_path: Path) -> None:
    application = create_app(config(tmp_path))
    server = application.state.server
    client = local_client(application)
    capped: list[Any] = []
    real_run = server.runtime.run

    def run_then_fill_the_disk(*args: Any, **kwargs: Any) -> Any:
        capped.append(_cap(client))  # the disk fills while the prompt runs
        return real_run(*args, **kwargs)

    server.runtime.run = run_then_fill_the_disk
    with client, client.websocket_connect("/ws?clientId=c") as ws:
        prompt_id = client.post("/prompt", json={"prompt": long_ids(txt2img(seed=3, steps=2)),
                                                 "client_id": "c"}).json()["prompt_id"]
        kinds = [m["type"] for m in _told(ws, prompt_id)]
        assert "execution_success" in kinds  # the client is told how it ended
        entry = client.get(f"/history/{prompt_id}").json()[prompt_id]
        assert entry["status"]["status_str"] == "success"
        assert client.get("/queue").json() == {"queue_running": [], "queue_pending": []}
        assert prompt_id in client.get("/history").json()
        assert server.queue.held == 1  # not written yet: the disk is full
        big = client.post("/prompt", json={"prompt": txt2img(),
                                           "extra_data": {"pad": "y" * 50_000}})
        assert big.status_code == 503, big.text
        assert big.json()["error"]["type"] == "storage_unavailable"
        capped[0].execute("PRAGMA max_page_count = 1073741823")  # space again
        deadline = time.monotonic() + 10
        while server.queue.held:
            assert time.monotonic() < deadline, "the held end was never written"
            time.sleep(0.05)
    with sqlite3.connect(tmp_path / "state" / "queue.sqlite3") as check:
        assert check.execute("SELECT status FROM prompts WHERE id = ?",
                             (prompt_id,)).fetchone() == ("success",)


def test_a_prompt_whose_handling_raises_ends_as_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(worker_module, "ui_outputs", broken)
    with local_client(create_app(config(tmp_path))) as client, \
            client.websocket_connect("/ws?clientId=e") as ws:
        prompt_id = client.post("/prompt", json={"prompt": txt2img(steps=1),
                                                 "client_id": "e"}).json()["prompt_id"]
        messages = _told(ws, prompt_id)
        entry = client.get(f"/history/{prompt_id}").json()[prompt_id]
        queue = client.get("/queue").json()
    error = next(m["data"] for m in messages if m["type"] == "execution_error")
    assert "disk I/O error" in error["exception_message"]
    assert entry["status"]["status_str"] == "error" and entry["graphrt"]["state"] == "error"
    assert queue == {"queue_running": [], "queue_pending": []}
