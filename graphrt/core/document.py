"""The graph document (format "graphrt/1"): pydantic models, links, and loading.

    {"format": "graphrt/1", "description": "...",
     "args":    {"seed": {"type": "int", "default": 0}},
     "inputs":  {"x": {"type": "FLOAT"}},                   # only for graphs used as ops
     "nodes":   {"load": {"op": "demo.load", "params": {"name": "a"}},
                 "use":  {"op": "demo.use", "in": {"x": "load.out"},
                          "params": {"text": {"arg": "prompt"}}}},
     "outputs": {"result": "use.out"}}

`in` holds only links: "node.port", or "$name" for a declared graph input (a list of links
for a variadic port). `params` holds only literals or {"arg": NAME}. Loading collects every
structural problem as an `Issue` instead of stopping at the first.

Other document formats plug in as `DocumentFormat`s handed to `load_graph` by the host (the
front ends pass graphrt's compatibility formats); the core reads native JSON only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import total_ordering
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticError

from .errors import Code, InvalidGraph, Issue, show
from .node_doc import NODE_ID_RE, NodeDoc, is_node_id, plain_nodes

FORMAT: Literal["graphrt/1"] = "graphrt/1"
ARG_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool,
                              "json": object}
T = TypeVar("T")


@total_ordering
class Ref(Generic[T]):
    """A link to output `port` of node `node`; `Ref[Latent]` types a macro's ports.

    Immutable by convention, compared and hashed as (node, port), ordered by them: a plain
    slotted class, since one is built per link of every graph checked (a frozen dataclass
    costs several times more to construct)."""

    __slots__ = ("node", "port")

    def __init__(self, node: str, port: str) -> None:
        self.node, self.port = node, port

    def __eq__(self, other: object) -> bool:
        if type(other) is not Ref:
            return NotImplemented
        return self.node == other.node and self.port == other.port

    def __hash__(self) -> int:
        return hash((self.node, self.port))

    def __lt__(self, other: Ref[Any]) -> bool:
        if type(other) is not Ref:
            return NotImplemented
        return (self.node, self.port) < (other.node, other.port)

    def __repr__(self) -> str:
        return f"Ref(node={self.node!r}, port={self.port!r})"

    def __str__(self) -> str:
        return f"{self.node}.{self.port}"


@total_ordering
class InputRef:
    """A link to the graph input `name` (in graphs used as ops); immutable by convention."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        if type(other) is not InputRef:
            return NotImplemented
        return self.name == other.name

    def __hash__(self) -> int:
        return hash(("$", self.name))

    def __lt__(self, other: InputRef) -> bool:
        if type(other) is not InputRef:
            return NotImplemented
        return self.name < other.name

    def __repr__(self) -> str:
        return f"InputRef(name={self.name!r})"

    def __str__(self) -> str:
        return f"${self.name}"


Link = Ref[Any] | InputRef


def parse_ref(text: Any) -> Link | None:
    """Parse "node.port" or "$input"; None if `text` is not a well-formed link."""
    if not isinstance(text, str):
        return None
    if text.startswith("$"):
        return InputRef(text[1:]) if _is_port(text[1:]) else None
    node, dot, port = text.rpartition(".")
    if not dot or not _is_port(port) or not NODE_ID_RE.match(node):
        return None
    return Ref(node, port)


def _is_port(name: str) -> bool:
    """A port name: an ASCII identifier ([A-Za-z_][A-Za-z0-9_]*)."""
    return name.isidentifier() and name.isascii()


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArgSpec(_Doc):
    """A graph-level argument, referenced from params as {"arg": NAME}."""

    type: Literal["int", "float", "str", "bool", "json"] = "json"
    default: Any = None
    required: bool = False
    description: str = ""


class InputSpec(_Doc):
    """A graph input port (graphs with inputs are used as ops inside other graphs)."""

    type: str
    optional: bool = False
    description: str = ""


_NODE_ADAPTER: TypeAdapter[NodeDoc] = TypeAdapter(NodeDoc)


class GraphDoc(_Doc):
    """A whole document, structurally valid (semantics are checked by `validate`).

    `skip_invalid_outputs`: prepare only what the outputs need, and leave out each output
    whose nodes have issues instead of refusing the document (the plan names them in
    `dropped_outputs`; graphrt.core.partial)."""

    format: Literal["graphrt/1"] = FORMAT
    description: str = ""
    args: dict[str, ArgSpec] = Field(default_factory=dict)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    nodes: dict[str, NodeDoc]
    outputs: dict[str, str] = Field(default_factory=dict)
    skip_invalid_outputs: bool = False

    def dump(self) -> dict[str, Any]:
        """The document as JSON-ready data (what a saving op embeds)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


class DocumentFormat(Protocol):
    """A foreign document format: recognised in raw bytes or parsed JSON, made native."""

    name: str

    def sniff(self, raw: bytes) -> bool:
        """True when `raw` (a file's bytes) is this format's container (e.g. a PNG)."""

    def unpack(self, raw: bytes) -> tuple[dict[str, Any] | None, list[Issue]]:
        """The JSON document inside a container."""

    def detect(self, data: dict[str, Any]) -> bool:
        """True when parsed JSON `data` is in this format."""

    def translate(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
        """Native document data for `data`, or None with the issues that block it."""


def is_native(data: dict[str, Any]) -> bool:
    """A native document: it says so, or its nodes are an object (other formats that have
    "nodes" keep them in a list)."""
    return "format" in data or ("nodes" in data and not isinstance(data["nodes"], list))


def read_document(source: str | Path | dict[str, Any],
                  formats: Sequence[DocumentFormat] = ()) -> tuple[dict[str, Any] | None,
                                                                   list[Issue]]:
    """Raw JSON data from a path (a JSON file or a container a format unpacks), a JSON
    string, or a dict."""
    if isinstance(source, dict):
        return source, []
    text = str(source)
    if isinstance(source, Path) or not text.lstrip().startswith("{"):
        try:
            raw = Path(source).read_bytes()
            for fmt in formats:
                if fmt.sniff(raw):
                    return fmt.unpack(raw)
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return None, [Issue(code=Code.UNREADABLE, message=f"cannot read {source}: {exc}")]
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, [Issue(code=Code.INVALID_JSON, message=f"not valid JSON: {exc}")]
    if not isinstance(data, dict):
        return None, [Issue(code=Code.INVALID_DOCUMENT, message="a graph document is a JSON "
                            "object", expected="object", found=type(data).__name__)]
    return data, []


def to_native(data: dict[str, Any], formats: Sequence[DocumentFormat] = ()
              ) -> tuple[dict[str, Any] | None, list[Issue]]:
    """`data` in the native format: as it is, or translated by the first format that
    recognises it."""
    if is_native(data):
        return data, []
    for fmt in formats:
        if fmt.detect(data):
            return fmt.translate(data)
    return data, []


def parse_document(data: dict[str, Any]) -> tuple[GraphDoc | None, list[Issue]]:
    """Build a GraphDoc, collecting every structural issue. Broken nodes are left out (their
    ids are listed in the issues) so that the rest can still be checked."""
    nodes_raw = data.get("nodes")
    if isinstance(nodes_raw, dict):
        nodes = plain_nodes(nodes_raw)
        try:  # a sound document in one validation; a broken one is taken apart below
            if nodes is not None:
                if _plain_shell(data):
                    return _plain_doc(data, nodes), []
                shell = GraphDoc.model_validate({**data, "nodes": {}})
                return shell.model_copy(update={"nodes": nodes}), []
            if all(map(is_node_id, nodes_raw)):
                return GraphDoc.model_validate(data), []
        except PydanticError:
            pass
    issues: list[Issue] = []
    if not isinstance(nodes_raw, dict):
        issues.append(Issue(code=Code.INVALID_DOCUMENT, field="nodes",
                            message="'nodes' must be an object of node id → node",
                            expected="object", found=show(nodes_raw)))
        nodes_raw = {}
    good: dict[str, NodeDoc] = {}
    for node_id, raw in nodes_raw.items():
        if not NODE_ID_RE.match(str(node_id)):
            issues.append(Issue(code=Code.INVALID_NODE_ID, node=str(node_id), message=(
                "a node id is 1 to 256 characters, without '/' or control characters, not "
                "starting with '$'"), expected="an id such as 'sampler' or '4:1'",
                found=show(node_id)))
            continue
        try:
            good[node_id] = _NODE_ADAPTER.validate_python(raw)
        except PydanticError as exc:
            issues.extend(_pydantic_issues(exc, node=node_id))
    rest = {k: v for k, v in data.items() if k != "nodes"}
    try:
        doc = GraphDoc.model_validate({**rest, "nodes": {}})
    except PydanticError as exc:
        issues.extend(_pydantic_issues(exc, node=None))
        return None, issues
    return doc.model_copy(update={"nodes": good}), issues


_SHELL_TYPES: dict[str, type] = {"format": str, "description": str, "nodes": dict,
                                 "outputs": dict, "args": dict, "inputs": dict,
                                 "skip_invalid_outputs": bool}


def _plain_shell(data: dict[str, Any]) -> bool:
    """True when everything but the nodes is plainly sound: known fields of the exact
    types, the native format, no args or graph inputs, outputs of strings. Such a shell is
    built without pydantic, whose validation costs tens of microseconds when the CPU caches
    are cold (as between two sampling runs)."""
    for name, value in data.items():
        if type(value) is not _SHELL_TYPES.get(name):
            return False
    if data.get("format", FORMAT) != FORMAT or data.get("args") or data.get("inputs"):
        return False
    return all(type(k) is str and type(v) is str for k, v in data.get("outputs", {}).items())


def _plain_doc(data: dict[str, Any], nodes: dict[str, NodeDoc]) -> GraphDoc:
    """The GraphDoc of a plain shell (`_plain_shell`) and its checked nodes, built as
    `model_construct` builds one, without its walk over every field's aliases."""
    doc = GraphDoc.__new__(GraphDoc)
    set_attr = object.__setattr__
    set_attr(doc, "__dict__", {
        "format": FORMAT, "description": data.get("description", ""), "args": {},
        "inputs": {}, "nodes": nodes, "outputs": dict(data.get("outputs", {})),
        "skip_invalid_outputs": data.get("skip_invalid_outputs", False)})
    set_attr(doc, "__pydantic_fields_set__", set(data))
    set_attr(doc, "__pydantic_extra__", None)
    set_attr(doc, "__pydantic_private__", None)
    return doc


def load_graph(source: str | Path | dict[str, Any] | GraphDoc,
               formats: Sequence[DocumentFormat] = (),
               pending: list[Issue] | None = None) -> GraphDoc:
    """Load a document (path, JSON text or dict) in the native format or one of `formats`.

    Raises `InvalidGraph` with every structural issue. Semantic checks (ops, links, types,
    params, cycles) happen in `graphrt.core.validate`. Given `pending`, the issues a format
    found on nodes of a translated document that skips invalid outputs go there instead.
    """
    if isinstance(source, GraphDoc):
        return source
    data, issues = read_document(source, formats)
    if data is not None and not issues:
        data, issues = to_native(data, formats)
    if (pending is not None and data is not None and data.get("skip_invalid_outputs") is True
            and all(i.node is not None for i in issues)):
        pending.extend(issues)
        issues = []
    if data is None or issues:
        raise InvalidGraph(issues)
    doc, issues = parse_document(data)
    if doc is None or issues:
        raise InvalidGraph(issues)
    return doc


def _pydantic_issues(exc: PydanticError, *, node: str | None) -> list[Issue]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        out.append(Issue(code=Code.INVALID_DOCUMENT if node is None else Code.INVALID_NODE,
                         node=node, field=loc or None, message=err.get("msg", "invalid"),
                         expected=_expected(err), found=show(err.get("input"))))
    return out


def _expected(err: Any) -> str | None:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    kind = str(err.get("type", ""))
    return kind.replace("_type", "").replace("_parsing", "") or None
