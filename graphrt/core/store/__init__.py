"""Cache stores: the `Store` protocol and the tiered store the runtime uses.

A store maps a node key to the node's outputs ({port: value}). `MemoryStore` (LRU by bytes,
holds live objects such as loaded models) is the default; `DiskStore` persists what can be
serialized. `TieredStore` reads memory first, then disk (promoting hits), and writes both.

A cache is an optimisation: when the disk tier faults (`DiskFault`: an index that is not a
database, a full or read-only disk), the tiered store turns it off and goes on in memory.
`degraded` then says why, and the one watcher (`watch`, which the executor sets for each
run) is told once. The disk is tried again after `retry_s` seconds (long-lived servers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from ..errors import DiskFault, NotSerializable
from .disk import DiskStore
from .memory import MemoryStore

MISSING: Any = object()
Watcher = Callable[[str], None]


class Store(Protocol):
    def get(self, key: str) -> Any:
        """The stored value, or MISSING; may raise CorruptEntry."""

    def put(self, key: str, value: Any) -> None: ...

    def __contains__(self, key: object) -> bool: ...

    def stats(self) -> dict[str, Any]: ...

    def clear(self) -> None: ...

    def watch(self, callback: Watcher | None) -> None:
        """Tell `callback` once, with a description, if the store loses a tier."""


class TieredStore:
    """Memory in front of an optional disk store that degrades to memory on disk faults."""

    retry_s = 300.0

    def __init__(self, memory: MemoryStore, disk: DiskStore | None = None) -> None:
        self.memory, self.disk = memory, disk
        self.degraded: str | None = None  # why the disk tier is off, while it is
        self._retry_at = 0.0
        self._watcher: Watcher | None = None
        self._lock = threading.Lock()

    def _disk(self) -> DiskStore | None:
        """The disk tier, unless it is off (it is tried again once `retry_s` has passed)."""
        if self.degraded is not None:
            if time.monotonic() < self._retry_at:
                return None
            self.degraded = None  # try again; a fault turns it off again
        return self.disk

    def _lost(self, fault: DiskFault) -> None:
        with self._lock:
            self.degraded = fault.detail
            self._retry_at = time.monotonic() + self.retry_s
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher(fault.detail)

    def watch(self, callback: Watcher | None) -> None:
        """Tell `callback` (once) that the disk tier is off: now if it is, else when a fault
        turns it off. Replaces the previous watcher; None removes it."""
        with self._lock:
            off = self.degraded is not None and time.monotonic() < self._retry_at
            self._watcher = None if off else callback
            detail = self.degraded
        if off and callback is not None and detail is not None:
            callback(detail)

    def get(self, key: str) -> Any:
        value = self.memory.get(key, MISSING)
        disk = self._disk() if value is MISSING and self.disk is not None else None
        if disk is None:
            return value
        try:
            value = disk.get(key, MISSING)  # may raise CorruptEntry
        except DiskFault as fault:
            self._lost(fault)
            return MISSING
        if value is not MISSING:
            self.memory.put(key, value)
        return value

    def put(self, key: str, value: Any) -> None:
        self.memory.put(key, value)
        disk = self._disk() if self.disk is not None else None
        if disk is None:
            return
        try:
            disk.put(key, value)
        except NotSerializable:  # stays in memory only
            return
        except DiskFault as fault:
            self._lost(fault)

    def direct_put(self) -> Callable[[str, Any], None]:
        """The `put` a run binds for its many stores of results: the memory tier's own when
        there is no disk tier (one call fewer per node), else `put`."""
        return self.memory.put if self.disk is None else self.put

    def __contains__(self, key: object) -> bool:
        if key in self.memory:
            return True
        disk = self._disk() if self.disk is not None else None
        if disk is None:
            return False
        try:
            return key in disk
        except DiskFault as fault:
            self._lost(fault)
            return False

    def holding(self) -> tuple[int, int]:
        """The memory tier's `holding` token: what it held under one token it still holds."""
        return self.memory.holding()

    def held(self, keys: Iterable[str]) -> AbstractSet[str]:
        """Which of `keys` either tier holds, not to be changed (`keys` itself, as a set,
        when memory holds them all): memory in one pass, the disk asked only about the
        rest."""
        wanted = keys if isinstance(keys, set | frozenset) else set(keys)
        if self.memory.holds_all(wanted):
            return wanted
        found = self.memory.held(wanted)
        if len(found) < len(wanted) and self.disk is not None:
            found.update(k for k in wanted - found if k in self)
        return found

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"memory": self.memory.stats()}
        disk = self._disk()
        if disk is not None:
            try:
                out["disk"] = disk.stats()
            except DiskFault as fault:
                self._lost(fault)
        if self.degraded is not None:
            out["degraded"] = self.degraded
        return out

    def clear(self) -> None:
        self.memory.clear()
        disk = self._disk()
        if disk is not None:
            try:
                disk.clear()
            except DiskFault as fault:
                self._lost(fault)


__all__ = ["MISSING", "DiskStore", "MemoryStore", "Store", "TieredStore", "Watcher"]
