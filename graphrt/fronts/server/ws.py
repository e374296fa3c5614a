"""GET /ws?clientId=ID: the WebSocket of ComfyUI's API.

On connect the client gets {"type": "status", "data": {"status": ..., "sid": ID}}; then
every message for its client id, or for everyone. A send-only handler never notices a
client that left, so a receive loop runs beside the sender; when either ends, both stop
and the client is unregistered.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from typing import TYPE_CHECKING

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")


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
