"""In-process clients of the app, as a local client: 127.0.0.1 is the Host (the server
refuses Hosts that do not name it) for HTTP and WebSocket requests; nothing leaves the
process."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from starlette.testclient import TestClient

LOCAL = "http://127.0.0.1"


class LocalClient(TestClient):
    """A TestClient whose requests and WebSockets go to 127.0.0.1."""

    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().websocket_connect(urljoin("ws://127.0.0.1", url), *args, **kwargs)


def local_client(app: Any, **kwargs: Any) -> LocalClient:
    return LocalClient(app, base_url=LOCAL, **kwargs)
