"""In-memory LRU store bounded by bytes. Holds any object, live models included.

`on_evict`, when given, is told the key of every entry the budget pushes out (after the
store's lock is released), so a host can report which results a process no longer holds.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from ..values import nbytes

DEFAULT_BUDGET = 4 * 1024**3
_SERIALS = itertools.count()


class MemoryStore:
    """key → value, evicting the least recently used entries beyond `max_bytes`."""

    def __init__(self, max_bytes: int = DEFAULT_BUDGET,
                 on_evict: Callable[[str], None] | None = None) -> None:
        self.max_bytes = max_bytes
        self.on_evict = on_evict
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0
        self._serial = next(_SERIALS)
        self._removals = 0  # entries dropped so far: evicted, discarded or cleared

    # The lock is taken with acquire/release in try/finally rather than `with`: the context
    # manager costs more than the few dict operations it guards.
    def get(self, key: str, default: Any = None) -> Any:
        lock = self._lock
        lock.acquire()
        try:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return default
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]
        finally:
            lock.release()

    def put(self, key: str, value: Any) -> None:
        size = nbytes(value)
        lock, items = self._lock, self._items
        lock.acquire()
        try:
            if key in items:
                self._bytes -= items.pop(key)[1]
                self._removals += 1
            if size > self.max_bytes:  # not kept: counted as a removal (see `holding`)
                self._removals += 1
                return
            items[key] = (value, size)
            self._bytes += size
            if self._bytes <= self.max_bytes:
                return
            evicted = self._evict()
        finally:
            lock.release()
        if self.on_evict is not None:
            for old_key in evicted:
                self.on_evict(old_key)

    def _evict(self) -> list[str]:
        """Drop the least recently used entries until within budget (under the lock)."""
        evicted = []
        items = self._items
        while self._bytes > self.max_bytes:
            old_key, (_, old) = items.popitem(last=False)
            self._bytes -= old
            self.evictions += 1
            self._removals += 1
            evicted.append(old_key)
        return evicted

    def discard(self, key: str) -> None:
        with self._lock:
            item = self._items.pop(key, None)
            if item is not None:
                self._bytes -= item[1]
                self._removals += 1

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def held(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` are held (one pass in C, for planning large graphs)."""
        return set(filter(self._items.__contains__, keys))

    def holding(self) -> tuple[int, int]:
        """A token that stays the same while no entry leaves this store and every value put
        is kept: keys found held (or put) under one token are held while it lasts (stores
        are told apart by a serial)."""
        return self._serial, self._removals

    def holds_all(self, keys: set[str] | frozenset[str]) -> bool:
        """True when every one of `keys` is held (one comparison, for identical reruns)."""
        return self._items.keys() >= keys

    def __len__(self) -> int:
        return len(self._items)

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self._items), "bytes": self._bytes, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses, "evictions": self.evictions}

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self._removals += 1
