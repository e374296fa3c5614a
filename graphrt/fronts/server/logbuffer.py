"""The server's recent log lines, for the editor's terminal panel (/internal/logs).

A logging handler on the root logger, installed while the app runs: it keeps the last
`size` records as ComfyUI's log entries {"t": ISO time, "m": "message\\n"} (server paths
named, not spelled out) and sends each new one as a `logs` WebSocket message to the clients
that subscribed (PATCH /internal/logs/subscribe).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from graphrt.fronts.server.hub import Hub

TERMINAL_SIZE = {"cols": 120, "rows": 40}


class LogBuffer(logging.Handler):
    """Bounded recent log entries, fanned out to subscribed WebSocket clients."""

    def __init__(self, hub: Hub, redact: Callable[[Any], Any], size: int = 1000) -> None:
        super().__init__(logging.INFO)
        self.hub, self.redact = hub, redact
        self.entries: deque[dict[str, str]] = deque(maxlen=size)
        self.subscribers: set[str] = set()
        self._lock = threading.Lock()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.redact(self.format(record)) + "\n"
        except Exception:  # a log record must never break the code that logged it
            return
        entry = {"t": datetime.fromtimestamp(record.created, UTC).isoformat(), "m": text}
        with self._lock:
            self.entries.append(entry)
            subscribers = list(self.subscribers)
        for sid in subscribers:
            self.hub.send("logs", {"entries": [entry], "size": TERMINAL_SIZE}, sid)

    def snapshot(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.entries)

    def subscribe(self, sid: str, enabled: bool) -> None:
        with self._lock:
            (self.subscribers.add if enabled else self.subscribers.discard)(sid)

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
