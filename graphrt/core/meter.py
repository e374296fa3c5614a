"""Counters the executor keeps per node, fed from deep inside an op's computation.

A model wrapper calls `count("model_calls")` on every evaluation; the executor opens one
`measure()` around a run and reports, per node, what was counted while the node ran. The
current meter is a context variable: code that fans out to threads runs them in copies of
the caller's context (`contextvars.copy_context()`), so their counts reach the same node.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar


class Meter:
    """Named counts for one node's execution (thread-safe)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)


_CURRENT: ContextVar[Meter | None] = ContextVar("graphrt_meter", default=None)


def count(name: str, n: int = 1) -> None:
    """Add `n` to the counter `name` of the node being executed (no-op outside a run)."""
    meter = _CURRENT.get()
    if meter is not None:
        meter.add(name, n)


class measure:  # noqa: N801 - used as a function: `with measure() as m:`
    """A fresh meter that `count` feeds while the block runs (a class: a generator-based
    context manager costs several times more)."""

    __slots__ = ("meter", "token")

    def __enter__(self) -> Meter:
        self.meter = Meter()
        self.token = _CURRENT.set(self.meter)
        return self.meter

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self.token)
