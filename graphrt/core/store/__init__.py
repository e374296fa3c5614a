"""Cache stores: the `Store` protocol and the tiered store the runtime uses.

A store maps a node key to the node's outputs ({port: value}). `MemoryStore` (LRU by bytes,
holds live objects such as loaded models) is the default; `DiskStore` persists what can be
serialized. `TieredStore` reads memory first, then disk (promoting hits), and writes both.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from ..errors import NotSerializable
from .disk import DiskStore
from .memory import MemoryStore

MISSING: Any = object()


class Store(Protocol):
    def get(self, key: str) -> Any:
        """The stored value, or MISSING; may raise CorruptEntry."""

    def put(self, key: str, value: Any) -> None: ...

    def __contains__(self, key: object) -> bool: ...

    def stats(self) -> dict[str, Any]: ...

    def clear(self) -> None: ...


class TieredStore:
    """Memory in front of an optional disk store."""

    def __init__(self, memory: MemoryStore, disk: DiskStore | None = None) -> None:
        self.memory, self.disk = memory, disk

    def get(self, key: str) -> Any:
        value = self.memory.get(key, MISSING)
        if value is not MISSING or self.disk is None:
            return value
        value = self.disk.get(key, MISSING)  # may raise CorruptEntry
        if value is not MISSING:
            self.memory.put(key, value)
        return value

    def put(self, key: str, value: Any) -> None:
        self.memory.put(key, value)
        if self.disk is not None:
            with contextlib.suppress(NotSerializable):  # stays in memory only
                self.disk.put(key, value)

    def __contains__(self, key: object) -> bool:
        return key in self.memory or (self.disk is not None and key in self.disk)

    def stats(self) -> dict[str, Any]:
        out = {"memory": self.memory.stats()}
        if self.disk is not None:
            out["disk"] = self.disk.stats()
        return out

    def clear(self) -> None:
        self.memory.clear()
        if self.disk is not None:
            self.disk.clear()


__all__ = ["MISSING", "DiskStore", "MemoryStore", "Store", "TieredStore"]
