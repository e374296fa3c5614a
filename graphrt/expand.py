"""Macro expansion: macros (and graphs used as ops) become primitive nodes at plan time.

A macro function gets its params, a `Builder`, and one `Ref` per input port; it adds nodes
through the builder and returns the refs that stand for its outputs. Expanded node ids are
"<macro id>/<local id>", so `graphrt plan` shows where each came from and every unrolled
node is keyed and cached on its own. Expansion uses a work list, never recursion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from .errors import GraphError, InvalidGraph, Issue
from .graph import Ref
from .op import OpSpec
from .registry import Registry
from .types import PortType
from .validate import Graph, Node, validate_params

MAX_EXPANDED_NODES = 1_000_000


class ExpansionError(GraphError):
    """A macro built an invalid node (unknown op, bad params, bad link)."""


class Handle:
    """A node added through a Builder; `handle.port` (or `handle["port"]`) is a Ref."""

    def __init__(self, node_id: str, spec: OpSpec) -> None:
        self._id, self._spec = node_id, spec

    @property
    def id(self) -> str:
        return self._id

    def __getitem__(self, port: str) -> Ref:
        if self._spec.output(port) is None:
            raise ExpansionError(f"{self._spec.name} has no output {port!r}")
        return Ref(self._id, port)

    def __getattr__(self, port: str) -> Ref:
        if port.startswith("_"):
            raise AttributeError(port)
        return self[port]


class Builder:
    """Adds nodes to the graph being expanded, checking each one as it goes."""

    def __init__(self, prefix: str, registry: Registry, graph: Graph) -> None:
        self.prefix, self.registry, self.graph = prefix, registry, graph
        self.added: list[Node] = []
        self._counts: dict[str, int] = {}

    def add(
        self,
        op: str,
        params: dict[str, Any] | BaseModel | None = None,
        *,
        id: str | None = None,
        **inputs: Ref | Sequence[Ref] | None,
    ) -> Handle:
        """Add a node running `op`; returns a Handle whose attributes are its output refs."""
        spec = self.registry.get(op)
        if spec is None:
            raise ExpansionError(f"unknown op {op!r}")
        local = id or self._auto_id(op)
        node_id = f"{self.prefix}/{local}"
        if node_id in self.graph.nodes:
            raise ExpansionError(f"duplicate node id {node_id!r}")
        if isinstance(params, BaseModel) and isinstance(params, spec.params):
            model: BaseModel = params
        else:
            raw = params.model_dump() if isinstance(params, BaseModel) else dict(params or {})
            issues: list[Issue] = []
            checked = validate_params(spec, raw, node_id, issues)
            if checked is None:
                raise ExpansionError("; ".join(f"{i.field}: {i.message}" for i in issues))
            model = checked
        links = self._links(spec, node_id, inputs)
        node = Node(node_id, spec, model, links, origin=self.prefix)
        self.graph.nodes[node_id] = node
        self.added.append(node)
        return Handle(node_id, spec)

    def _auto_id(self, op: str) -> str:
        verb = op.rsplit(".", 1)[-1]
        n = self._counts.get(verb, 0)
        self._counts[verb] = n + 1
        return f"{verb}{n}"

    def _links(
        self, spec: OpSpec, node_id: str, inputs: dict[str, Ref | Sequence[Ref] | None]
    ) -> dict[str, Ref | tuple[Ref, ...]]:
        links: dict[str, Ref | tuple[Ref, ...]] = {}
        for name, value in inputs.items():
            port = spec.input(name)
            if port is None:
                raise ExpansionError(f"{spec.name} has no input {name!r}")
            if value is None:
                continue
            refs = (value,) if isinstance(value, Ref) else tuple(value)
            for ref in refs:
                src = self.type_of(ref)
                if not port.type.accepts(src):
                    raise ExpansionError(f"{node_id}.{name}: {ref} gives {src}, needs {port.type}")
            links[name] = refs if port.variadic else refs[0]
        for port in spec.inputs:
            if not port.optional and port.name not in links:
                raise ExpansionError(f"{node_id}: required input {port.name!r} not linked")
        return links

    def type_of(self, ref: Ref) -> PortType:
        ptype = resolve_type(self.graph, ref)
        if ptype is None:
            raise ExpansionError(f"link {ref} points at no known output")
        return ptype


def resolve_type(graph: Graph, ref: Ref) -> PortType | None:
    return graph.port_type(ref)


def expand(graph: Graph, registry: Registry) -> Graph:
    """Replace every macro node by its expansion (repeatedly, macros may build macros)."""
    aliases: dict[Ref, Ref] = {}
    issues: list[Issue] = []
    work = [n for n in graph.nodes.values() if n.spec.is_macro]
    while work:
        node = work.pop()
        if len(graph.nodes) > MAX_EXPANDED_NODES:
            raise InvalidGraph([Issue(code="too_large", node=node.id,
                                      message=f"expansion exceeds {MAX_EXPANDED_NODES} nodes")])
        _resolve_inputs(node, aliases)
        builder = Builder(node.id, registry, graph)
        try:
            result = _call_macro(node, builder)
            outs = _output_refs(node.spec, result)
        except (ExpansionError, ValueError) as exc:
            issues.append(Issue(code="expansion_failed", node=node.id, field="params",
                                message=f"{node.spec.name} cannot expand: {exc}"))
            for added in builder.added:
                graph.nodes.pop(added.id, None)
            continue
        del graph.nodes[node.id]
        for port, ref in outs.items():
            aliases[Ref(node.id, port)] = ref
        work.extend(n for n in builder.added if n.spec.is_macro)
    if issues:
        raise InvalidGraph(issues)
    for node in graph.nodes.values():
        _resolve_inputs(node, aliases)
    graph.outputs = {k: _follow(r, aliases) for k, r in graph.outputs.items()}
    return graph


def _call_macro(node: Node, builder: Builder) -> Any:
    args: list[Any] = []
    for port in node.spec.inputs:
        value = node.inputs.get(port.name)
        if port.variadic:
            args.extend(value if isinstance(value, tuple) else ())
        else:
            args.append(value)
    return node.spec.fn(node.params, builder, *args)


def _output_refs(spec: OpSpec, result: Any) -> dict[str, Ref]:
    values = [result] if spec.single_output else list(result)
    if len(values) != len(spec.outputs) or not all(isinstance(v, Ref) for v in values):
        raise ExpansionError(f"macro {spec.name} must return {len(spec.outputs)} Ref(s)")
    return {p.name: v for p, v in zip(spec.outputs, values, strict=True)}


def _follow(ref: Ref, aliases: dict[Ref, Ref]) -> Ref:
    while ref in aliases:
        ref = aliases[ref]
    return ref


def _resolve_inputs(node: Node, aliases: dict[Ref, Ref]) -> None:
    if not aliases:
        return
    for port, value in node.inputs.items():
        if isinstance(value, tuple):
            node.inputs[port] = tuple(_follow(r, aliases) for r in value)
        else:
            node.inputs[port] = _follow(value, aliases)
