"""In-process clients of the app, as a local client: 127.0.0.1 is the Host (the server
refuses Hosts that do not name it) for HTTP and WebSocket requests; nothing leaves the
process."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from starlette.testclient import TestClient

from graphrt.fronts.server.config import Limits, ServerConfig

LOCAL = "http://127.0.0.1"


class LocalClient(TestClient):
    """A TestClient whose requests and WebSockets go to 127.0.0.1."""

    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().websocket_connect(urljoin("ws://127.0.0.1", url), *args, **kwargs)


def local_client(app: Any, **kwargs: Any) -> LocalClient:
    return LocalClient(app, base_url=LOCAL, **kwargs)


def local_config(tmp_path: Path, **limits: int) -> ServerConfig:
    """A CPU server's settings with its folders under `tmp_path`, and `limits` changed."""
    return ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                        input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                        device="cpu", limits=Limits(**limits))


def finished(client: Any, prompt_id: str, tries: int = 600) -> dict[str, Any]:
    """A prompt's history entry, once it has one (polls every 50 ms, `tries` times)."""
    import time

    for _ in range(tries):
        history = client.get(f"/history/{prompt_id}").json()
        if prompt_id in history:
            return history[prompt_id]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"prompt {prompt_id} did not finish")
