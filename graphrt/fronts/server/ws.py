"""GET /ws?clientId=ID: the WebSocket of ComfyUI's API.

On connect the client gets {"type": "status", "data": {"status": ..., "sid": ID}}; then
every message for its client id, or for everyone. A client that sends its feature flags
({"type": "feature_flags", ...}, as the editor does first) gets the server's back, as
ComfyUI answers. A send-only handler never notices a client that left, so a receive loop
runs beside the sender; when either ends, both stop and the client is unregistered. The
socket is served at /ws and /api/ws.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from graphrt.fronts.server.routes_system import server_features

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")
MAX_CLIENT_MESSAGE = 64 * 1024  # characters of a client's message that are read


def asks_features(message: Mapping[str, Any]) -> bool:
    """Whether a received WebSocket message is the client's feature flags."""
    text = message.get("text")
    if not isinstance(text, str) or len(text) > MAX_CLIENT_MESSAGE:
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "feature_flags"


async def websocket(ws: WebSocket) -> None:
    server: Server = ws.app.state.server
    sid = ws.query_params.get("clientId") or uuid.uuid4().hex
    if not CLIENT_ID_RE.match(sid):
        await ws.close(code=1008)
        return
    await ws.accept()
    queue = server.hub.connect(sid)
    try:
        await ws.send_json({"type": "status", "data": {**server.worker.status(), "sid": sid}})

        async def pump() -> None:
            while True:
                await ws.send_json(await queue.get())

        async def drain() -> None:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if asks_features(message):
                    server.hub.send("feature_flags", server_features(server), sid)

        tasks = [asyncio.create_task(pump()), asyncio.create_task(drain())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect,
                                         RuntimeError, OSError):
                    await task
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        server.hub.disconnect(sid, queue)


routes = [WebSocketRoute("/ws", websocket)]
