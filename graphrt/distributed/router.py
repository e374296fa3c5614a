"""Routers: which worker a part goes to (SPEC §13), without Ray.

The cache-aware router scores every worker that can take the part, in model calls saved:

    score = LOAD_COST × (the part's models the worker holds)
          + Σ work of the part's nodes whose results it holds
          + FETCH_COST × (the part's inputs it holds, so nothing travels)
          − CROWD_COST × (other models it holds: GPU memory the part would share)
          − queued (the work routed to it and not finished)

where a node's work is its predicted model calls plus one. "Holds" counts what parts already
routed to the worker will leave there, so prompts submitted together are routed as if the
earlier ones had run. Ties go to the worker with less queued work, then the first. The
round-robin router, the baseline, takes the workers in turn.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

LOAD_COST = 200.0  # a model load: seconds on real checkpoints, ~200 model calls of a GPU
CROWD_COST = 50.0
FETCH_COST = 1.0


@dataclass(frozen=True)
class Demand:
    """What a part asks of a worker: its nodes' keys with their work, the keys of the
    transferable inputs it reads, and the keys of its models' loaders."""

    nodes: tuple[tuple[str, float], ...]
    inputs: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    @property
    def work(self) -> float:
        return sum(w for _, w in self.nodes)


@dataclass(frozen=True)
class WorkerView:
    """A worker as the router sees it: the keys it holds (or will, once its queued parts
    run), the loader keys of its models, and its queued work."""

    name: str
    held: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    queued: float = 0.0


@dataclass(frozen=True)
class Route:
    worker: str
    reason: dict[str, Any] = field(default_factory=dict)


class Router(Protocol):
    name: str

    def choose(self, demand: Demand, workers: list[WorkerView]) -> Route: ...


def score(demand: Demand, w: WorkerView) -> dict[str, Any]:
    """The cache-aware score of `w` for `demand`, with its terms."""
    models = [k for k in demand.models if k in w.held]
    held_work = sum(work for k, work in demand.nodes if k in w.held)
    inputs = sum(1 for k in demand.inputs if k in w.held)
    crowd = len(w.models - set(demand.models))
    total = (LOAD_COST * len(models) + held_work + FETCH_COST * inputs - CROWD_COST * crowd
             - w.queued)
    return {"score": total, "models_resident": len(models), "keys_held": sum(
        1 for k, _ in demand.nodes if k in w.held), "inputs_held": inputs,
            "other_models": crowd, "queued": w.queued}


class CacheAwareRouter:
    """The worker with the best score (see the module docstring)."""

    name = "cache-aware"

    def choose(self, demand: Demand, workers: list[WorkerView]) -> Route:
        if not workers:
            raise ValueError("no worker to route to")
        scored = [(score(demand, w), i, w) for i, w in enumerate(workers)]
        best, _, chosen = max(scored, key=lambda s: (s[0]["score"], -s[2].queued, -s[1]))
        return Route(chosen.name, {"router": self.name, **best,
                                   "others": {w.name: round(s["score"], 3)
                                              for s, _, w in scored if w is not chosen}})


class RoundRobinRouter:
    """The workers in turn, whatever they hold."""

    name = "round-robin"

    def __init__(self) -> None:
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def choose(self, demand: Demand, workers: list[WorkerView]) -> Route:
        if not workers:
            raise ValueError("no worker to route to")
        with self._lock:
            i = next(self._turn) % len(workers)
        return Route(workers[i].name, {"router": self.name, "turn": i})


ROUTERS: dict[str, type[CacheAwareRouter] | type[RoundRobinRouter]] = {
    "cache-aware": CacheAwareRouter, "round-robin": RoundRobinRouter}
