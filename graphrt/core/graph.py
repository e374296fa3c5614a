"""The checked graph: typed nodes with validated params and parsed links.

`validate` turns a `GraphDoc` into a `Graph`; `expand` turns a Graph with macro nodes into a
new Graph of primitives; `make_plan` keys and orders one. Nodes are immutable: each stage
builds new ones. Every node records where it came from: `source` is the document node the
user wrote (itself, or the macro node it was expanded from, transitively), `origin` the
macro node that built it directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .document import GraphDoc, InputRef, Link, Ref
from .op import OpSpec
from .types import PortType

Inputs = Mapping[str, "Link | tuple[Link, ...]"]


class Node:
    """A checked node: its op, its validated params, its links and its provenance.

    Immutable by convention (a plain slotted class: one is built per node of every graph
    checked, and a frozen dataclass costs several times more to construct); `replace` gives
    a changed copy. `upstream` holds the distinct ids of the nodes it reads from, in link
    order; `reads_input` tells whether any link is to a graph input."""

    __slots__ = ("id", "spec", "params", "inputs", "source", "origin", "upstream",
                 "reads_input")

    def __init__(self, id: str, spec: OpSpec, params: BaseModel, inputs: Inputs,  # noqa: A002
                 source: str, origin: str | None = None,
                 upstream: tuple[str, ...] | None = None) -> None:
        """`upstream`, when the caller knows it (its links are all `Ref`s), spares the walk
        over the links that finds it."""
        self.id, self.spec, self.params, self.inputs = id, spec, params, inputs
        self.source, self.origin = source, origin
        self.upstream: tuple[str, ...]
        if upstream is not None:
            self.upstream, self.reads_input = upstream, False
            return
        ups: dict[str, None] = {}
        reads_input = False
        for value in inputs.values():
            if type(value) is Ref:
                ups[value.node] = None
                continue
            for r in value if type(value) is tuple else (value,):
                if isinstance(r, Ref):
                    ups[r.node] = None
                elif isinstance(r, InputRef):
                    reads_input = True
        self.upstream = tuple(ups)
        self.reads_input = reads_input

    def replace(self, *, params: BaseModel | None = None,
                inputs: Inputs | None = None) -> Node:
        """A copy with other params or inputs."""
        return Node(self.id, self.spec, self.params if params is None else params,
                    self.inputs if inputs is None else inputs, self.source, self.origin)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return (self.id, self.spec, self.params, self.inputs, self.source, self.origin) == (
            other.id, other.spec, other.params, other.inputs, other.source, other.origin)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Node({self.id!r}, {self.spec.name}, {self.params!r}, {dict(self.inputs)!r})"

    def links(self) -> Iterator[Link]:
        """Every link of the node's inputs, variadic ones flattened, in port order."""
        for value in self.inputs.values():
            if isinstance(value, tuple):
                yield from value
            else:
                yield value

    def upstream_ids(self) -> list[str]:
        """Distinct ids of the nodes this node reads from, in link order."""
        return list(self.upstream)


@dataclass(frozen=True)
class Graph:
    """A validated graph: typed nodes, output links, resolved args and overrides."""

    doc: GraphDoc
    nodes: Mapping[str, Node]
    outputs: Mapping[str, Ref[Any]]
    args: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    input_types: Mapping[str, PortType] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # every node in topological order, when known
    consumers: dict[str, list[str]] | None = None  # with `order`: who reads each node

    def port_type(self, link: Link) -> PortType | None:
        """The type of the output (or graph input) `link` points at; None if there is none."""
        if isinstance(link, InputRef):
            return self.input_types.get(link.name)
        node = self.nodes.get(link.node)
        port = node.spec.output(link.port) if node else None
        return port.type if port else None
