"""ASGI middleware: the optional bearer token, and the request body's size and time limits.

The token is read from `Authorization: Bearer T`, or from `?token=T` (browsers cannot set
headers on WebSocket requests). The body is read here, up to the limit, and replayed to
the app, so an oversized request is refused with 413 whether or not it declared its length,
and one whose body does not arrive within `body_timeout` seconds with 408. Both close the
connection. (Headers that never finish are timed out by the HTTP protocol: `timeouts`.)
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any
from urllib.parse import parse_qs

from graphrt.compat.comfy.node_errors import simple_error

Scope = dict[str, Any]
CLOSE = {b"connection": b"close"}


class Guard:
    """Refuses unauthenticated (401), oversized (413) and too slow (408) requests."""

    def __init__(self, app: Any, *, token: str | None, max_body: int,
                 body_timeout: float = 60.0) -> None:
        self.app, self.token, self.max_body = app, token, max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.token is not None and not self._authorized(scope):
            if kind == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})
                return
            await reply(send, 401, simple_error("unauthorized",
                                                "a valid bearer token is required"),
                        {b"www-authenticate": b"Bearer"})
            return
        if kind == "http":
            try:
                async with asyncio.timeout(self.body_timeout):
                    body = await self._read(scope, receive)
            except TimeoutError:
                await reply(send, 408, simple_error(
                    "request_timeout", f"the request body did not arrive within "
                    f"{self.body_timeout:g} seconds"), CLOSE)
                return
            if body is None:
                await reply(send, 413, simple_error(
                    "request_too_large", f"the request body is over {self.max_body} bytes"),
                    CLOSE)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        assert self.token is not None
        expected = self.token.encode()
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return hmac.compare_digest(value[7:].strip(), expected)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0].encode()
        return bool(given) and hmac.compare_digest(given, expected)

    async def _read(self, scope: Scope, receive: Any) -> bytes | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()  # http.disconnect, when it comes
        return message

    return replay


async def reply(send: Any, status: int, payload: dict[str, Any],
                extra: dict[bytes, bytes] | None = None) -> None:
    """Send a JSON response from middleware."""
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += list((extra or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
