"""The graph document (format "graphrt/1"): pydantic models, references, and loading.

    {"format": "graphrt/1", "description": "...",
     "args":    {"seed": {"type": "int", "default": 0}},
     "inputs":  {"latent": {"type": "LATENT"}},            # only for graphs used as ops
     "nodes":   {"ckpt": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
                 "pos":  {"op": "text.encode", "in": {"clip": "ckpt.clip"},
                          "params": {"text": {"arg": "prompt"}}}},
     "outputs": {"image": "save.images"}}

`in` holds only links: "node.port", or "$name" for a declared graph input (a list of links
for a variadic port). `params` holds only literals or {"arg": NAME}. Loading collects every
structural problem as an `Issue` instead of stopping at the first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from .errors import InvalidGraph, Issue, show
from .formats.png import SIGNATURE, document_from_png

FORMAT: Literal["graphrt/1"] = "graphrt/1"
NODE_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
PORT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ARG_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "json": object}


@dataclass(frozen=True, order=True)
class Ref:
    """A link to output `port` of `node`; `node` is "$" for a graph input named `port`."""

    node: str
    port: str

    @property
    def is_graph_input(self) -> bool:
        return self.node == "$"

    def __str__(self) -> str:
        return f"${self.port}" if self.is_graph_input else f"{self.node}.{self.port}"


def parse_ref(text: Any) -> Ref | None:
    """Parse "node.port" or "$input"; None if `text` is not a well-formed link."""
    if not isinstance(text, str):
        return None
    if text.startswith("$"):
        return Ref("$", text[1:]) if PORT_RE.match(text[1:]) else None
    node, dot, port = text.rpartition(".")
    if not dot or not NODE_ID_RE.match(node) or not PORT_RE.match(port):
        return None
    return Ref(node, port)


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


class NodeDoc(_Doc):
    """One node: its op, its links (`in`) and its literal params."""

    op: str = Field(min_length=1)
    in_: dict[str, str | list[str]] = Field(default_factory=dict, alias="in")
    params: dict[str, Any] = Field(default_factory=dict)
    title: str = ""


class GraphDoc(_Doc):
    """A whole document, structurally valid (semantics are checked by `validate`)."""

    format: Literal["graphrt/1"] = FORMAT
    description: str = ""
    args: dict[str, ArgSpec] = Field(default_factory=dict)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    nodes: dict[str, NodeDoc]
    outputs: dict[str, str] = Field(default_factory=dict)
    source: dict[str, Any] | None = Field(default=None, exclude=True)

    def dump(self) -> dict[str, Any]:
        """The document as JSON-ready data (what `image.save` embeds)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def read_document(source: str | Path | dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Raw JSON data from a path (a JSON file, or a PNG that graphrt or ComfyUI wrote), a
    JSON string, or a dict."""
    if isinstance(source, dict):
        return source, []
    text = str(source)
    if isinstance(source, Path) or not text.lstrip().startswith("{"):
        try:
            raw = Path(source).read_bytes()
            if raw.startswith(SIGNATURE):
                return document_from_png(raw)
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return None, [Issue(code="unreadable", message=f"cannot read {source}: {exc}")]
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, [Issue(code="invalid_json", message=f"not valid JSON: {exc}")]
    if not isinstance(data, dict):
        return None, [Issue(code="invalid_document", message="a graph document is a JSON object",
                            expected="object", found=type(data).__name__)]
    return data, []


def parse_document(data: dict[str, Any]) -> tuple[GraphDoc | None, list[Issue]]:
    """Build a GraphDoc, collecting every structural issue. Broken nodes are left out (their
    ids are listed in the issues) so that the rest can still be checked."""
    issues: list[Issue] = []
    nodes_raw = data.get("nodes")
    if not isinstance(nodes_raw, dict):
        issues.append(Issue(code="invalid_document", field="nodes",
                            message="'nodes' must be an object of node id → node",
                            expected="object", found=show(nodes_raw)))
        nodes_raw = {}
    good: dict[str, NodeDoc] = {}
    for node_id, raw in nodes_raw.items():
        if not NODE_ID_RE.match(str(node_id)):
            issues.append(Issue(code="invalid_node_id", node=str(node_id), message=(
                "node ids use letters, digits, '_' and '-' (not starting with '-')"),
                expected="[A-Za-z0-9_][A-Za-z0-9_-]*", found=show(node_id)))
            continue
        try:
            good[node_id] = NodeDoc.model_validate(raw)
        except PydanticError as exc:
            issues.extend(_pydantic_issues(exc, node=node_id))
    rest = {k: v for k, v in data.items() if k != "nodes"}
    try:
        doc = GraphDoc.model_validate({**rest, "nodes": {}})
    except PydanticError as exc:
        issues.extend(_pydantic_issues(exc, node=None))
        doc = None
    if doc is None:
        return None, issues
    return doc.model_copy(update={"nodes": good, "source": data}), issues


def load_graph(source: str | Path | dict[str, Any]) -> GraphDoc:
    """Load a document (path, JSON text or dict; native or ComfyUI API format).

    Raises `InvalidGraph` with every structural issue. Semantic checks (ops, links, types,
    params, cycles) happen in `graphrt.validate.validate`.
    """
    from .formats import to_native

    data, issues = read_document(source)
    if data is not None:
        data, more = to_native(data)
        issues += more
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
        out.append(Issue(code="invalid_document" if node is None else "invalid_node",
                         node=node, field=loc or None, message=err.get("msg", "invalid"),
                         expected=_expected(err), found=show(err.get("input"))))
    return out


def _expected(err: Any) -> str | None:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    kind = str(err.get("type", ""))
    return kind.replace("_type", "").replace("_parsing", "") or None
