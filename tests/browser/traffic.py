"""What a page asks of the network, recorded through Playwright's events (tests/browser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Traffic:
    """What a page asked of the network: every request to `base`, every failure, every
    request elsewhere (aborted: nothing leaves the machine), console errors."""

    base: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.route("**/*", self._route)
        page.on("request", lambda r: self.requests.append(f"{r.method} {r.url}"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(
            f"{r.status} {r.request.method} {r.url}"))
        page.on("requestfailed", self._request_failed)
        page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"{m.text} @ {m.location.get('url', '')}"))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _request_failed(self, request: Any) -> None:
        if request.url.startswith(self.base + "/"):  # others are in `outside`, aborted here
            self.failed.append(f"failed {request.method} {request.url}: {request.failure}")

    def count(self, needle: str) -> int:
        return sum(needle in r for r in self.requests)
