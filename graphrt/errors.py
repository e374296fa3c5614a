"""The error family: one structured `Issue` per problem, and the exceptions that carry them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Issue(BaseModel):
    """One problem in a graph document: where it is, what was expected, what was found."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    node: str | None = None
    field: str | None = None
    expected: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        where = ".".join(p for p in (self.node, self.field) if p) or "graph"
        return f"{where}: {self.message} [{self.code}]"


def show(value: Any, limit: int = 80) -> str:
    """A short, human-readable rendering of a found value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class GraphError(Exception):
    """Base class of every error graphrt raises on purpose."""


class InvalidGraph(GraphError):
    """A document failed to load or validate; `issues` holds every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) in the graph:\n{lines}")


class OpDefinitionError(GraphError):
    """An op or macro is declared wrongly (raised at import or registration time)."""


class OpError(GraphError):
    """An op raised while running; names the node and the op."""

    def __init__(self, node: str, op: str, message: str) -> None:
        self.node, self.op, self.message = node, op, message
        super().__init__(f"node {node!r} ({op}) failed: {message}")


class Cancelled(GraphError):
    """The run was interrupted; raised inside an op at its next progress tick."""


class CorruptEntry(GraphError):
    """A persisted cache entry failed its checksum or could not be decoded."""

    def __init__(self, key: str, detail: str) -> None:
        self.key, self.detail = key, detail
        super().__init__(f"cache entry {key} is corrupt: {detail}")


class NotSerializable(GraphError):
    """A value cannot be written to the disk store; it stays in memory only."""
