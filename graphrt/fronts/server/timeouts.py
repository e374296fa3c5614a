"""Uvicorn's HTTP/1.1 protocol with a header timeout: a connection must finish each request's
headers within `header_timeout` seconds of being ready for it, or it is answered 408 and
closed. Uvicorn times out only idle keep-alive connections, so a client that opens
connections and never finishes their headers would otherwise hold them forever. (Bodies
are timed out by `guard.Guard`, which reads them.)

Imported only when the server starts: it needs uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

_BODY = (b'{"error": {"type": "request_timeout", "message": "the request headers did not '
         b'arrive in time", "details": "", "extra_info": {}}, "node_errors": {}}')
TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                    b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(_BODY)) + _BODY


class TimedH11Protocol(H11Protocol):
    """H11Protocol that closes connections whose request headers are not complete in time."""

    header_timeout = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        scope = self.scope
        super().handle_events()
        if self.scope is not scope:  # a request's headers arrived (or it became a WebSocket)
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # the next request's headers are due (disarmed if already pipelined)
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()


def timed_protocol(header_timeout: float) -> type[Any]:
    """A TimedH11Protocol class with its header timeout set."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {"header_timeout": header_timeout})
