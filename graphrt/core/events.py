"""Run events: frozen dataclasses delivered, in order, to `Callable[[Event], None]` sinks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    run_id: str

    @property
    def kind(self) -> str:
        name = type(self).__name__
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (previews are dropped)."""
        data = {k: v for k, v in asdict(self).items() if k != "preview"}
        return {"event": self.kind, **data}


@dataclass(frozen=True)
class RunStarted(Event):
    nodes: int
    to_execute: list[str]
    cached: list[str]
    predicted_model_calls: int | None


@dataclass(frozen=True)
class NodeCached(Event):
    node: str
    op: str
    key: str


@dataclass(frozen=True)
class NodeStarted(Event):
    node: str
    op: str
    key: str


@dataclass(frozen=True)
class Progress(Event):
    node: str
    step: int
    total: int
    preview: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NodeFinished(Event):
    node: str
    op: str
    duration: float
    model_calls: int


@dataclass(frozen=True)
class NodeFailed(Event):
    node: str
    op: str
    message: str
    error_type: str
    traceback: str = ""


@dataclass(frozen=True)
class NodeWarning(Event):
    """Something a running node reports without failing (e.g. a prompt names a missing file)."""

    node: str
    op: str
    message: str


@dataclass(frozen=True)
class NodeSkipped(Event):
    """A node that could not run because an upstream node failed."""

    node: str
    op: str
    failed_upstream: str


@dataclass(frozen=True)
class CacheCorrupt(Event):
    """A persisted entry failed verification; the node is recomputed."""

    node: str
    key: str
    detail: str


@dataclass(frozen=True)
class CacheDegraded(Event):
    """The cache lost a tier (a disk fault); the run goes on without it. Once per run."""

    detail: str


@dataclass(frozen=True)
class RunFinished(Event):
    executed: list[str]
    cached: list[str]
    failed: list[str]
    model_calls: int
    wall_time: float
    interrupted: bool


Sink = Callable[[Event], None]
