"""An in-process app with a WebSocket client recording every message, and polling until a
condition holds (bounded): for tests that watch a server run prompts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .local import LocalClient, local_client


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """`check()`'s first truthy answer, polled every 50 ms for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def recorded(app: Any, client_id: str) -> Iterator[tuple[LocalClient, list[dict[str, Any]]]]:
    """A client of the started `app`, and the list its WebSocket's messages are appended to."""
    messages: list[dict[str, Any]] = []
    with local_client(app) as client, \
            client.websocket_connect(f"/ws?clientId={client_id}") as ws:

        def read() -> None:
            try:
                while True:
                    messages.append(ws.receive_json())
            except Exception:  # the socket closed at the end of the test
                return

        threading.Thread(target=read, daemon=True).start()
        yield client, messages
