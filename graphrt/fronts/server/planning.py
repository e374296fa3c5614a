"""Submissions being checked and planned, each with its cancel flag.

A document is prepared in POST /prompt, before it is queued; preparing it is bounded by the
limits, and is also stopped on request: `/interrupt` (without a prompt id, or with this
one), clearing the queue, or deleting this prompt from it set the flag, and planning stops
at its next node (`Cancelled`). `commit` queues a prepared prompt only if its flag is still
clear, under the same lock `cancel` takes, so a prompt cleared from the queue while it was
planned never appears in it afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from graphrt.core.errors import Cancelled

T = TypeVar("T")


class InUse(Exception):
    """A prompt id that is already being planned."""


class Planning:
    """Cancel flags of the submissions being prepared, by prompt id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[str, threading.Event] = {}

    @contextmanager
    def track(self, prompt_id: str) -> Iterator[threading.Event]:
        """Register `prompt_id` while the block runs; yields its cancel flag."""
        flag = threading.Event()
        with self._lock:
            if prompt_id in self._flags:
                raise InUse(prompt_id)
            self._flags[prompt_id] = flag
        try:
            yield flag
        finally:
            with self._lock:
                self._flags.pop(prompt_id, None)

    def __contains__(self, prompt_id: object) -> bool:
        with self._lock:
            return prompt_id in self._flags

    def cancel(self, ids: Iterable[str] | None = None) -> int:
        """Cancel the given submissions (all when None); how many were being planned."""
        with self._lock:
            return self._cancel(ids)

    def cancel_then(self, ids: Iterable[str] | None, action: Callable[[], T]) -> T:
        """Cancel, then run `action` (deleting from the queue) before any commit can run."""
        with self._lock:
            self._cancel(ids)
            return action()

    def commit(self, flag: threading.Event, action: Callable[[], T]) -> T:
        """Run `action` (queueing) unless `flag` was set; raises Cancelled if it was."""
        with self._lock:
            if flag.is_set():
                raise Cancelled("the prompt was cancelled while it was being planned")
            return action()

    def _cancel(self, ids: Iterable[str] | None) -> int:
        flags = list(self._flags.values()) if ids is None else [
            self._flags[i] for i in ids if i in self._flags]
        for flag in flags:
            flag.set()
        return len(flags)
