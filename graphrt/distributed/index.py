"""The cluster index, on the head: which worker holds which key (SPEC §13), without Ray.

Workers report, after each part, the keys they hold in memory and the keys their memory
evicted since their last report; parts routed to a worker and not finished count as keys it
will hold (`promise`), so routing sees work in flight. A key is in the cluster when some
live worker holds it or the shared disk tier has it; a worker that dies takes its keys with
it (`drop`). The index is a `KeyLookup`, so `decide` can plan against the whole cluster.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from graphrt.core.errors import DiskFault
from graphrt.core.plan import KeyLookup

from .router import WorkerView


@dataclass
class Holdings:
    """One worker's keys: held in memory, promised by queued parts, loaders of its models."""

    held: set[str] = field(default_factory=set)
    promised: Counter[str] = field(default_factory=Counter)
    models: set[str] = field(default_factory=set)
    promised_models: Counter[str] = field(default_factory=Counter)
    queued: float = 0.0


class ClusterIndex:
    """key → the workers that hold it, plus the shared disk (see the module docstring)."""

    def __init__(self, disk: KeyLookup | None = None) -> None:
        self.disk = disk
        self.workers: dict[str, Holdings] = {}
        self._where: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self.evictions = 0

    def add(self, worker: str) -> None:
        with self._lock:
            self.workers.setdefault(worker, Holdings())

    def drop(self, worker: str) -> set[str]:
        """Forget a dead worker; the keys it held."""
        with self._lock:
            gone = self.workers.pop(worker, None)
            if gone is None:
                return set()
            for key in gone.held:
                self._unhold(worker, key)
            return gone.held

    def _unhold(self, worker: str, key: str) -> None:
        holders = self._where.get(key)
        if holders is not None:
            holders.discard(worker)
            if not holders:
                del self._where[key]

    def holders(self, key: str) -> list[str]:
        """Live workers holding `key` in memory, by name."""
        with self._lock:
            return sorted(self._where.get(key, ()))

    def on_disk(self, key: object) -> bool:
        """Whether the shared disk tier has `key` (a disk that faults has nothing)."""
        if self.disk is None:
            return False
        try:
            return key in self.disk
        except DiskFault:
            return False

    def __contains__(self, key: object) -> bool:
        return (isinstance(key, str) and key in self._where) or self.on_disk(key)

    def holds(self, worker: str, key: str) -> bool:
        """Whether `worker` holds `key`, or will once its queued parts have run."""
        with self._lock:
            h = self.workers.get(worker)
            return h is not None and (key in h.held or h.promised[key] > 0)

    def promise(self, worker: str, keys: Iterable[str], models: Iterable[str],
                work: float) -> None:
        """A part was routed to `worker`: it will hold `keys` and the loaders `models`."""
        with self._lock:
            h = self.workers.get(worker)
            if h is not None:
                h.promised.update(keys)
                h.promised_models.update(models)
                h.queued += work

    def settle(self, worker: str, keys: Iterable[str], models: Iterable[str], work: float,
               held: Iterable[str] = (), evicted: Iterable[str] = (),
               loaders: Iterable[str] = ()) -> None:
        """A part routed to `worker` ended: take back its promise; record what the worker
        reported holding (`held`, among them the model loaders `loaders`) and evicting."""
        with self._lock:
            h = self.workers.get(worker)
            if h is None:  # died meanwhile
                return
            h.promised.subtract(keys)
            h.promised_models.subtract(models)
            h.promised = +h.promised
            h.promised_models = +h.promised_models
            h.queued = max(0.0, h.queued - work)
            for key in evicted:
                self.evictions += 1
                h.held.discard(key)
                h.models.discard(key)
                self._unhold(worker, key)
            for key in held:
                h.held.add(key)
                self._where.setdefault(key, set()).add(worker)
            h.models.update(k for k in loaders if k in h.held)

    def view(self, names: Iterable[str]) -> list[WorkerView]:
        """How the router sees the workers `names` (those that can take work), in order."""
        with self._lock:
            out = []
            for name in names:
                h = self.workers.get(name)
                if h is not None:
                    out.append(WorkerView(name, frozenset(h.held | set(h.promised)),
                                          frozenset(h.models | set(h.promised_models)),
                                          h.queued))
            return out

    def summary(self) -> dict[str, dict[str, int | float]]:
        with self._lock:
            return {name: {"keys": len(h.held), "models": len(h.models),
                           "queued": h.queued} for name, h in self.workers.items()}
