"""The CLI's progress display: a tqdm bar per sampling node, a line per node otherwise, and
a warning line (always, terminal or not) when the cache degrades or a node warns."""

from __future__ import annotations

import sys
from typing import Any

from graphrt.core import events as ev


class ProgressPrinter:
    """An event sink that draws progress on stderr when it is a terminal (`enabled`), and
    prints warnings unless `warnings` is off; `warned` keeps what it warned about."""

    def __init__(self, enabled: bool, warnings: bool = True) -> None:
        self.enabled, self.warnings = enabled, warnings
        self.warned: list[str] = []
        self._bar: Any = None
        self._node = ""

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.CacheDegraded):
            self.warned.append(event.detail)
            if self.warnings:
                self.close()
                print(f"warning: {event.detail}; this run uses the memory cache only",
                      file=sys.stderr)
            return
        if isinstance(event, ev.NodeWarning):
            self.warned.append(event.message)
            if self.warnings:
                self.close()
                print(f"warning: {event.node} ({event.op}): {event.message}", file=sys.stderr)
            return
        if not self.enabled:
            return
        if isinstance(event, ev.Progress):
            if self._bar is None or self._node != event.node:
                self.close()
                from tqdm import tqdm

                self._bar = tqdm(total=event.total, desc=event.node, file=sys.stderr,
                                 leave=False, dynamic_ncols=True)
                self._node = event.node
            self._bar.n = event.step
            self._bar.refresh()
        elif isinstance(event, ev.NodeFinished | ev.NodeFailed):
            self.close()
            status = "failed" if isinstance(event, ev.NodeFailed) else "done"
            print(f"{status:6} {event.node} ({event.op})", file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
