"""A real `graphrt serve` subprocess on a free 127.0.0.1 port, and a ComfyUI-style client.

Every server started here is stopped by the code that started it (context manager).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """A running server: its process, base URL and folders."""

    proc: subprocess.Popen[bytes]
    port: int
    state: Path
    output: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


def start(base: Path, *extra: str, timeout: float = 60.0) -> Live:
    """Start `graphrt serve` with its folders under `base`; wait until it answers."""
    port = free_port()
    folders = {"--state-dir": base / "state", "--out": base / "output",
               "--input-dir": base / "input", "--models-dir": base / "models"}
    args = [sys.executable, "-m", "graphrt", "serve", "--host", HOST, "--port", str(port),
            "--device", "cpu", *(x for k, v in folders.items() for x in (k, str(v))), *extra]
    log = base / f"server-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    live = Live(proc, port, base / "state", base / "output", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{live.url}/prompt", timeout=1).status_code == 200:
                return live
        time.sleep(0.1)
    stop(live)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def stop(live: Live, sig: int = signal.SIGTERM) -> None:
    if live.proc.poll() is None:
        live.proc.send_signal(sig)
        try:
            live.proc.wait(15)
        except subprocess.TimeoutExpired:
            live.proc.kill()
            live.proc.wait(15)


@contextlib.contextmanager
def serving(base: Path, *extra: str) -> Iterator[Live]:
    live = start(base, *extra)
    try:
        yield live
    finally:
        stop(live)


class Client:
    """What a ComfyUI API client does: POST /prompt with a client_id, watch /ws."""

    def __init__(self, url: str, client_id: str | None = None) -> None:
        self.url, self.client_id = url, client_id or uuid.uuid4().hex
        self.http = httpx.Client(base_url=url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def socket(self) -> ClientConnection:
        ws_url = self.url.replace("http://", "ws://") + f"/ws?clientId={self.client_id}"
        return connect(ws_url, open_timeout=10)

    def submit(self, prompt: dict[str, Any], **extra: Any) -> httpx.Response:
        return self.http.post("/prompt", json={"prompt": prompt, "client_id": self.client_id,
                                               **extra})

    def run(self, prompt: dict[str, Any], timeout: float = 120, **extra: Any,
            ) -> tuple[str, list[dict[str, Any]]]:
        """Submit and wait for `executing` {node: null}; (prompt_id, its messages)."""
        with self.socket() as ws:
            response = self.submit(prompt, **extra)
            assert response.status_code == 200, response.text
            prompt_id = response.json()["prompt_id"]
            return prompt_id, watch(ws, prompt_id, timeout)


def watch(ws: ClientConnection, prompt_id: str, timeout: float = 120,
          until: Any = None) -> list[dict[str, Any]]:
    """Messages about `prompt_id` until `executing` {node: null} (or `until(message)`)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no end of {prompt_id} after {timeout}s: "
                               f"{[m['type'] for m in got]}")
        message = json.loads(ws.recv(timeout=left))
        if message.get("data", {}).get("prompt_id") != prompt_id:
            continue
        got.append(message)
        if until is not None and until(message):
            return got
        if message["type"] == "executing" and message["data"]["node"] is None:
            return got
