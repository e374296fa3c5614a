"""ASGI middleware: who may talk to the server, by `Host` and `Origin` (CSRF, DNS rebinding).

Every HTTP request and WebSocket handshake is checked before anything else runs:

- `Host` must name this server: a loopback name or address (localhost, 127.0.0.1, [::1]),
  the address it is bound to, or one of `allowed_hosts` ("*": any). A page whose own domain
  was re-pointed at this machine (DNS rebinding) sends its own domain here and is refused.
  A server bound to every address (0.0.0.0, ::) also takes any IP address as Host: a
  rebinding page cannot make a browser send an address for its own origin.
- `Origin`, which browsers send on cross-origin requests, on POSTs and on WebSocket
  handshakes, must be this server's own origin (same host and port as `Host`), or one of
  `allowed_origins` ("*": any). `Origin: null` (sandboxed pages, files) is refused. A
  request without `Origin` that a browser marks as cross-site (`Sec-Fetch-Site`) is refused
  too, unless it is a top-level GET navigation. Clients that are not browsers send neither
  header and are unaffected.

A refused request gets 403 with `error.type` forbidden_host or forbidden_origin; a refused
WebSocket is closed before it is accepted (the handshake answers 403).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from graphrt.compat.comfy.node_errors import simple_error
from graphrt.fronts.server.guard import Scope, reply

LOOPBACK_NAMES = frozenset({"localhost"})
WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def split_host(value: str) -> tuple[str, int | None]:
    """("name", port) of a Host header or netloc; the name lower-cased, IPv6 unbracketed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
    else:
        name, port = value, ""
    return name.rstrip("."), int(port) if port.isdigit() and len(port) <= 5 else None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class HostPolicy:
    """Which `Host` and `Origin` values name this server."""

    def __init__(self, bind_host: str, hosts: Iterable[str], origins: Iterable[str]) -> None:
        self.any_host = "*" in hosts
        self.names = {split_host(h)[0] for h in hosts if h != "*"}
        bind = bind_host.strip().lower()
        self.any_ip = bind in WILDCARDS
        if not self.any_ip:
            self.names.add(split_host(bind)[0] if not _ip(bind) else str(_ip(bind)))
        self.any_origin = "*" in origins
        self.origins = {o.strip().rstrip("/").lower() for o in origins if o != "*"}

    def host_ok(self, host: str | None) -> bool:
        if self.any_host:
            return True
        if not host:
            return False
        name, _ = split_host(host)
        if name in LOOPBACK_NAMES or name.endswith(".localhost") or name in self.names:
            return True
        ip = _ip(name)
        return ip is not None and (ip.is_loopback or self.any_ip or str(ip) in self.names)

    def origin_ok(self, origin: str, host: str) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if self.any_origin or origin in self.origins:
            return True
        parts = urlsplit(origin)
        if origin == "null" or parts.scheme not in DEFAULT_PORTS or not parts.netloc:
            return False
        default = DEFAULT_PORTS[parts.scheme]
        (oname, oport), (hname, hport) = split_host(parts.netloc), split_host(host)
        return oname == hname and (oport or default) == (hport or default)


class OriginGuard:
    """Refuses (403) requests to a Host that is not this server, or from another origin."""

    def __init__(self, app: Any, *, policy: HostPolicy) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self.problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        kind, message = problem
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": kind})
            return
        await reply(send, 403, simple_error(kind, message))

    def problem(self, scope: Scope) -> tuple[str, str] | None:
        """(error type, message) for a request to refuse; None to serve it."""
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers", []):
            headers.setdefault(name, value)
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.policy.host_ok(host):
            return ("forbidden_host", f"this server does not answer to Host {host!r} (start "
                    "it with --allow-host NAME to add a name)")
        origin = headers.get(b"origin")
        if origin is not None:
            text = origin.decode("latin-1")
            if not self.policy.origin_ok(text, host):
                return ("forbidden_origin", f"requests from {text!r} are not allowed (start "
                        "the server with --allow-origin ORIGIN to allow it)")
            return None
        site = headers.get(b"sec-fetch-site", b"").lower()
        navigate = (scope.get("method") in ("GET", "HEAD")
                    and headers.get(b"sec-fetch-mode", b"").lower() == b"navigate")
        if site in (b"cross-site", b"same-site") and not navigate:
            return ("forbidden_origin", "cross-site requests are not allowed")
        return None
