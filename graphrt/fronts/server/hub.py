"""WebSocket fan-out: messages from any thread to the connected clients, bounded per client.

ComfyUI's rule: a message with a client id goes to that client's sockets only; one without
goes to everyone. Each socket has a bounded backlog; when a slow client's backlog is full,
its oldest message is dropped, so memory stays bounded whatever the clients do.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

Message = dict[str, Any]


class Hub:
    """Registry of WebSocket clients by client id (sid)."""

    def __init__(self, backlog: int = 1000) -> None:
        self.backlog = backlog
        self.loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, list[asyncio.Queue[Message]]] = {}
        self.dropped = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on this event loop (the server's)."""
        self.loop = loop

    def connect(self, sid: str) -> asyncio.Queue[Message]:
        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=self.backlog)
        self._clients.setdefault(sid, []).append(queue)
        return queue

    def disconnect(self, sid: str, queue: asyncio.Queue[Message]) -> None:
        queues = self._clients.get(sid, [])
        if queue in queues:
            queues.remove(queue)
        if not queues:
            self._clients.pop(sid, None)

    @property
    def client_count(self) -> int:
        return sum(len(q) for q in self._clients.values())

    def send(self, kind: str, data: dict[str, Any], sid: str | None = None) -> None:
        """Queue {"type": kind, "data": data} for `sid` (None: everyone); any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        message = {"type": kind, "data": data}
        with contextlib.suppress(RuntimeError):  # the loop closed while we were sending
            loop.call_soon_threadsafe(self._deliver, message, sid)

    def _deliver(self, message: Message, sid: str | None) -> None:
        if sid is None:
            targets = [q for qs in self._clients.values() for q in qs]
        else:
            targets = list(self._clients.get(sid, []))
        for queue in targets:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(message)
