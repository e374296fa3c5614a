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


@dataclass(frozen=True, slots=True)
class Node:
    """A checked node: its op, its validated params, its links and its provenance."""

    id: str
    spec: OpSpec
    params: BaseModel
    inputs: Inputs
    source: str
    origin: str | None = None
    upstream: tuple[str, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        ups: dict[str, None] = {}
        for value in self.inputs.values():
            for r in value if type(value) is tuple else (value,):
                if type(r) is Ref:
                    ups[r.node] = None
        object.__setattr__(self, "upstream", tuple(ups))

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

    def port_type(self, link: Link) -> PortType | None:
        """The type of the output (or graph input) `link` points at; None if there is none."""
        if isinstance(link, InputRef):
            return self.input_types.get(link.name)
        node = self.nodes.get(link.node)
        port = node.spec.output(link.port) if node else None
        return port.type if port else None
