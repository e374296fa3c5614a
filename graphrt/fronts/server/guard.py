"""ASGI middleware: the optional bearer token, and the request body's size and time limits.

The token is read from `Authorization: Bearer T`, from `?token=T` (browsers cannot set
headers on WebSocket requests), or from this server's cookie: a page opened in the browser
at `/?token=T` (a top-level navigation) gets it (`graphrt_auth_<hash of T>=T`, HttpOnly,
SameSite=Strict), so the editor's own requests and WebSocket carry the token without
knowing it, and other sites' requests never do.

The body is read here, up to the limit, and replayed to the app, so an oversized request is
refused with 413 whether or not it declared its length, and one whose body does not arrive
within `body_timeout` seconds with 408. Both close the connection. (Headers that never
finish are timed out by the HTTP protocol: `timeouts`.)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qs

from graphrt.compat.comfy.node_errors import simple_error

Scope = dict[str, Any]
CLOSE = {b"connection": b"close"}
COOKIE_VALUE = re.compile(r"^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,1024}$")  # RFC 6265


class Guard:
    """Refuses unauthenticated (401), oversized (413) and too slow (408) requests."""

    def __init__(self, app: Any, *, token: str | None, max_body: int,
                 body_timeout: float = 60.0) -> None:
        self.app, self.token, self.max_body = app, token, max_body
        self.body_timeout = body_timeout
        digest = hashlib.sha256((token or "").encode()).hexdigest()[:16]
        self.cookie = f"graphrt_auth_{digest}"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        how = self._authorized(scope) if self.token is not None else "open"
        if how is None:
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
            if how == "query" and _navigation(scope) and COOKIE_VALUE.match(self.token or ""):
                send = self._setting_cookie(send)
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> str | None:
        """How the request carries the token ("header", "query", "cookie"); None: it does
        not."""
        assert self.token is not None
        expected = self.token.encode()
        cookies = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return "header" if hmac.compare_digest(value[7:].strip(), expected) else None
            if name == b"cookie":
                cookies += b"; " + value
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0].encode()
        if given and hmac.compare_digest(given, expected):
            return "query"
        prefix = self.cookie.encode() + b"="
        for part in cookies.split(b";"):
            part = part.strip()
            if part.startswith(prefix) and hmac.compare_digest(part[len(prefix):], expected):
                return "cookie"
        return None

    def _setting_cookie(self, send: Any) -> Any:
        assert self.token is not None
        cookie = (f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict").encode()

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", cookie)]}
            await send(message)

        return sending

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


def _navigation(scope: Scope) -> bool:
    """A browser's top-level GET navigation (the user opening a page)."""
    headers = dict(scope.get("headers", []))
    return (scope.get("method") == "GET"
            and headers.get(b"sec-fetch-mode", b"").lower() == b"navigate")


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
