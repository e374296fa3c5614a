"""Header and body read timeouts against a real HTTP server (uvicorn, in a thread, on
127.0.0.1): a connection that never finishes its headers is answered 408 and closed, so is
one that never finishes its body; complete requests, kept-alive connections and WebSockets
are unaffected. Every socket here has a timeout; the server stops when the test ends."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from websockets.sync.client import connect

from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import ServerConfig
from graphrt.fronts.server.timeouts import timed_protocol

HOST = "127.0.0.1"


@contextlib.contextmanager
def serving(tmp_path: Path, header_timeout: float, body_timeout: float) -> Iterator[int]:
    config = ServerConfig(state_dir=tmp_path / "state", device="cpu",
                          header_timeout=header_timeout, body_timeout=body_timeout)
    server = uvicorn.Server(uvicorn.Config(
        create_app(config), host=HOST, port=0, http=timed_protocol(header_timeout),
        log_level="error", timeout_keep_alive=30))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(15)


def read_all(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or `limit` seconds); (data, when)."""
    start, data = time.monotonic(), b""
    sock.settimeout(limit)
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data, time.monotonic() - start


def test_slow_headers_and_slow_bodies_are_timed_out(tmp_path: Path) -> None:
    with serving(tmp_path, header_timeout=0.5, body_timeout=0.5) as port:
        with socket.create_connection((HOST, port), timeout=5) as slow:
            slow.sendall(b"GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Never: ends")
            data, took = read_all(slow, 5)
        assert data.startswith(b"HTTP/1.1 408") and b"request_timeout" in data, data
        assert took < 3, took  # closed by the server, not by our 5 s limit

        with socket.create_connection((HOST, port), timeout=5) as slow:
            slow.sendall(b"POST /prompt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                         b'{"prompt": ')
            data, took = read_all(slow, 5)
        assert data.startswith(b"HTTP/1.1 408") and b"request_timeout" in data, data
        assert took < 3, took

        with socket.create_connection((HOST, port), timeout=5) as idle:
            data, took = read_all(idle, 5)  # connected, nothing sent
        assert took < 3 and (data == b"" or data.startswith(b"HTTP/1.1 408"))


def test_complete_requests_keep_alive_and_websockets_are_unaffected(tmp_path: Path) -> None:
    with serving(tmp_path, header_timeout=0.5, body_timeout=0.5) as port:
        with socket.create_connection((HOST, port), timeout=5) as sock:
            for _ in range(3):  # one kept-alive connection, pauses under the timeout
                sock.sendall(b"GET /prompt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                sock.settimeout(5)
                reply = b""
                while not reply.endswith(b"}}"):
                    chunk = sock.recv(65536)
                    assert chunk, f"connection closed after {reply!r}"
                    reply += chunk
                assert reply.startswith(b"HTTP/1.1 200"), reply
                time.sleep(0.3)
        with connect(f"ws://{HOST}:{port}/ws?clientId=w", open_timeout=5) as ws:
            time.sleep(1.0)  # longer than the header timeout: a WebSocket stays open
            assert b"status" in ws.recv(timeout=5).encode()
