"""A document's node (`NodeDoc`), its id rules, and building nodes without pydantic.

Documents are mostly sound, and pydantic models cost about a microsecond a node to build:
`plain_nodes` checks plainly sound nodes itself, and anything else goes through the
pydantic schema `NodeDoc` declares, which reports every problem field by field.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

# Node ids: what other tools' clients use works ("4", "Loader.0", "4:1", "my node");
# no "/" (expanded nodes are "<macro>/<local>"), no control characters, no leading "$" (graph
# inputs). A link "node.port" splits at its last dot: port names never hold one.
NODE_ID_RE = re.compile(r"^[^$/\x00-\x1f\x7f][^/\x00-\x1f\x7f]{0,255}$")


def is_node_id(node_id: Any) -> bool:
    """A well-formed node id (see NODE_ID_RE)."""
    if type(node_id) is str and len(node_id) <= 256 and node_id.isascii() and node_id.isalnum():
        return True  # the common case ("4", "sampler2"), without the regex
    return isinstance(node_id, str) and NODE_ID_RE.match(node_id) is not None


class NodeDoc:
    """One node: its op, its links (`in`) and its literal params.

    A plain slotted class, immutable by convention (one is built per node of every document
    loaded, and a pydantic model costs twice as much to build); pydantic validates and
    dumps it inside a `GraphDoc` through the schema below, so a broken node is reported
    field by field as before."""

    __slots__ = ("op", "in_", "params", "title")

    def __init__(self, op: str, in_: dict[str, str | list[str]] | None = None,
                 params: dict[str, Any] | None = None, title: str = "") -> None:
        self.op, self.title = op, title
        self.in_: dict[str, str | list[str]] = {} if in_ is None else in_
        self.params: dict[str, Any] = {} if params is None else params

    def __eq__(self, other: object) -> bool:
        if type(other) is not NodeDoc:
            return NotImplemented
        return (self.op == other.op and self.in_ == other.in_ and self.params == other.params
                and self.title == other.title)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NodeDoc(op={self.op!r}, in_={self.in_!r}, params={self.params!r}, " \
               f"title={self.title!r})"

    def dump(self) -> dict[str, Any]:
        """The node as document data, without fields left at their defaults."""
        out: dict[str, Any] = {"op": self.op}
        if self.in_:
            out["in"] = self.in_
        if self.params:
            out["params"] = self.params
        if self.title:
            out["title"] = self.title
        return out

    @classmethod
    def from_valid(cls, data: dict[str, Any]) -> NodeDoc:
        """A NodeDoc from data its schema has validated."""
        return cls(data["op"], data.get("in"), data.get("params"), data.get("title", ""))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        links = core_schema.union_schema([core_schema.str_schema(),
                                          core_schema.list_schema(core_schema.str_schema())])
        fields = core_schema.typed_dict_schema({
            "op": core_schema.typed_dict_field(core_schema.str_schema(min_length=1)),
            "in": core_schema.typed_dict_field(core_schema.dict_schema(
                core_schema.str_schema(), links), required=False),
            "params": core_schema.typed_dict_field(core_schema.dict_schema(
                core_schema.str_schema(), core_schema.any_schema()), required=False),
            "title": core_schema.typed_dict_field(core_schema.str_schema(), required=False),
        }, extra_behavior="forbid")
        return core_schema.no_info_after_validator_function(
            cls.from_valid, fields, serialization=core_schema.plain_serializer_function_ser_schema(
                cls.dump, return_schema=core_schema.dict_schema(
                    core_schema.str_schema(), core_schema.any_schema())))


_NODE_KEYS = frozenset({"op", "in", "params", "title"})


def plain_nodes(raw: dict[Any, Any]) -> dict[str, NodeDoc] | None:
    """The nodes of a document whose every node is plainly sound (ids the common kind,
    string ops, links and titles, params keyed by strings), built without pydantic; None
    when any is not, and the schema validates them all (reporting what is wrong)."""
    nodes: dict[str, NodeDoc] = {}
    for node_id, nd in raw.items():
        if type(nd) is not dict or not _NODE_KEYS.issuperset(nd) or not is_node_id(node_id):
            return None
        op, links = nd.get("op"), nd.get("in", _EMPTY)
        params, title = nd.get("params", _EMPTY), nd.get("title", "")
        if (type(op) is not str or not op or type(links) is not dict
                or type(params) is not dict or type(title) is not str):
            return None
        copied: dict[str, str | list[str]] = {}  # copies, as the schema makes
        for port, value in links.items():
            if type(port) is not str:
                return None
            if type(value) is str:
                copied[port] = value
            elif type(value) is list and all(type(v) is str for v in value):
                copied[port] = list(value)
            else:
                return None
        for name in params:
            if type(name) is not str:
                return None
        nodes[node_id] = NodeDoc(op, copied, dict(params), title)
    return nodes


_EMPTY: dict[str, Any] = {}
