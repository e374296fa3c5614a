"""The error family: one structured `Issue` per problem, its `Code`, and the exceptions.

Every problem graphrt reports about a document has a code from the one `Code` list; front
ends map codes (never message text) to their own vocabularies.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Code(StrEnum):
    """Every kind of problem a document can have."""

    # reading the document
    UNREADABLE = "unreadable"
    INVALID_JSON = "invalid_json"
    INVALID_DOCUMENT = "invalid_document"
    INVALID_NODE = "invalid_node"
    INVALID_NODE_ID = "invalid_node_id"
    UNSUPPORTED_FORMAT = "unsupported_format"
    # document formats translated to native ones
    UNKNOWN_CLASS = "unsupported_class_type"
    LINK_TO_WIDGET = "link_to_widget"
    NO_OUTPUTS = "prompt_no_outputs"
    # graph args and command-line values
    UNKNOWN_ARG = "unknown_arg"
    INVALID_ARG = "invalid_arg"
    MISSING_ARG = "missing_arg"
    BAD_ARGUMENT = "bad_argument"
    # ops and their params
    UNKNOWN_OP = "unknown_op"
    UNKNOWN_PARAM = "unknown_param"
    MISSING_PARAM = "missing_param"
    PARAM_ABOVE_MAX = "param_above_max"
    PARAM_BELOW_MIN = "param_below_min"
    PARAM_NOT_IN_CHOICES = "param_not_in_choices"
    PARAM_WRONG_TYPE = "param_wrong_type"
    INVALID_PARAM = "invalid_param"
    # links, ports and structure
    UNKNOWN_PORT = "unknown_port"
    BAD_LINK = "bad_link"
    UNKNOWN_NODE = "unknown_node"
    UNKNOWN_OUTPUT_PORT = "unknown_output_port"
    UNKNOWN_INPUT = "unknown_input"
    UNKNOWN_TYPE = "unknown_type"
    TYPE_MISMATCH = "type_mismatch"
    MISSING_INPUT = "missing_input"
    CYCLE = "cycle"
    UNKNOWN_OUTPUT = "unknown_output"
    UNBOUND_INPUT = "unbound_input"
    # expansion and planning
    EXPANSION_FAILED = "expansion_failed"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"  # values nested deeper than a key can be computed for
    BAD_FILE = "bad_file"
    # checks a host (the server) adds from what ops declare
    UNSAFE_PATH = "unsafe_path"
    LIMIT_EXCEEDED = "limit_exceeded"


class Issue(BaseModel):
    """One problem in a graph document: where it is, what was expected, what was found."""

    model_config = ConfigDict(frozen=True)

    code: Code
    message: str
    node: str | None = None
    field: str | None = None
    expected: str | None = None
    found: str | None = None
    source: str | None = None  # the document node `node` was expanded from, if it was

    def __str__(self) -> str:
        where = ".".join(p for p in (self.node, self.field) if p) or "graph"
        return f"{where}: {self.message} [{self.code.value}]"


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


class DiskFault(GraphError):
    """The disk store cannot be used (unreadable index, full or read-only disk); the cache
    goes on in memory."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class NotSerializable(GraphError):
    """A value cannot be written to the disk store; it stays in memory only."""
