"""Macro expansion: macros (and graphs used as ops) become primitive nodes at plan time.

A macro function gets its params, a `Builder`, and one `Ref` per input port; it adds nodes
through the builder and returns the refs that stand for its outputs. `expand` returns a new
Graph; the checked one is left as it was. Expanded node ids are "<macro id>/<local id>" so
`graphrt plan` reads well, but provenance is kept in each node's `source` and `origin`
fields, never parsed back from ids. Every added node goes through the one node checker, so
a macro's mistake is an Issue naming the node and field like any other. Expansion uses a
work list, never recursion.

A `Budget` bounds an expansion while it runs, not after: every node is counted (in all, and
per document node it was expanded from) and handed to the host's `admit` check as it is
added, and the cancel flag is read at every node, so a document that would expand past its
host's limits stops at the first node over them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from .check import check_node
from .document import InputRef, Link, Ref
from .errors import Cancelled, Code, GraphError, InvalidGraph, Issue
from .graph import Graph, Node
from .op import OpSpec
from .registry import Registry
from .types import PortType

MAX_EXPANDED_NODES = 1_000_000


@dataclass(frozen=True)
class Budget:
    """Bounds on one expansion, enforced as each node is added.

    `max_nodes`: nodes in all (the document's own included); `max_per_node`: nodes expanded
    from any one document node; `admit`: the host's check of a node before it joins the graph
    (the document's nodes first, then each node a macro adds): issues it returns stop the
    expansion at once."""

    max_nodes: int = MAX_EXPANDED_NODES
    max_per_node: int = MAX_EXPANDED_NODES
    admit: Callable[[Node], list[Issue]] | None = None


@dataclass
class _Spend:
    """What an expansion has used of its budget so far. Once over it, every later node is
    refused too, so a macro that swallows the error cannot go on building."""

    budget: Budget
    cancel: threading.Event | None = None
    total: int = 0
    per_source: dict[str, int] = field(default_factory=dict)
    over: list[Issue] | None = None

    def charge(self, node: Node, macro: Node | None = None) -> None:
        """Count `node` and run the host's check on it; raises InvalidGraph or Cancelled."""
        if self.over:
            raise InvalidGraph(self.over)
        issues = self.issues(node)
        if issues:
            self.over = [_within(macro, i) for i in issues] if macro else issues
            raise InvalidGraph(self.over)

    def issues(self, node: Node) -> list[Issue]:
        """Count `node`; the issues of the budget it breaks. Raises Cancelled."""
        stop_if(self.cancel)
        self.total += 1
        count = self.per_source[node.source] = self.per_source.get(node.source, 0) + 1
        b = self.budget
        if self.total > b.max_nodes:
            return [_too_large(node, self.total, b.max_nodes, "in all")]
        if count > b.max_per_node:
            return [_too_large(node, count, b.max_per_node, f"from node {node.source!r}")]
        return b.admit(node) if b.admit is not None else []


def _too_large(node: Node, count: int, limit: int, where: str) -> Issue:
    return Issue(code=Code.TOO_LARGE, node=node.source, field="params", source=node.source,
                 message=f"the expansion makes more than {limit} nodes {where}",
                 expected=f"<= {limit} nodes {where}", found=f"{count}+")


class ExpansionError(GraphError):
    """A macro cannot expand with its params and inputs (raised by macro code)."""


class _BuildFailed(Exception):
    """A node a macro added failed the node checker; carries the issues."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues


class Handle:
    """A node added through a Builder; `handle.port` (or `handle["port"]`) is a Ref."""

    def __init__(self, node_id: str, spec: OpSpec) -> None:
        self._id, self._spec = node_id, spec

    @property
    def id(self) -> str:
        return self._id

    def __getitem__(self, port: str) -> Ref[Any]:
        if self._spec.output(port) is None:
            raise ExpansionError(f"{self._spec.name} has no output {port!r}")
        return Ref(self._id, port)

    def __getattr__(self, port: str) -> Ref[Any]:
        if port.startswith("_"):
            raise AttributeError(port)
        return self[port]


@dataclass(frozen=True)
class Upstream:
    """What a macro may read of a node it is linked from: its op, params and links."""

    op: str
    params: BaseModel
    inputs: Mapping[str, Link | tuple[Link, ...]]


class Builder:
    """Adds nodes to the graph being expanded, checking each one as it goes."""

    def __init__(self, macro: Node, registry: Registry, nodes: dict[str, Node],
                 spend: _Spend | None = None) -> None:
        self.macro, self.registry, self._nodes = macro, registry, nodes
        self.added: list[Node] = []
        self._counts: dict[str, int] = {}
        self._spend = spend or _Spend(Budget())

    def add(
        self,
        op: str,
        params: Mapping[str, Any] | BaseModel | None = None,
        *,
        id: str | None = None,
        **inputs: Ref[Any] | Sequence[Ref[Any]] | None,
    ) -> Handle:
        """Add a node running `op`; returns a Handle whose attributes are its output refs."""
        local = id or self._auto_id(op)
        node_id = f"{self.macro.id}/{local}"
        issues: list[Issue] = []
        spec = self.registry.get(op)
        if spec is None:
            issues.append(Issue(code=Code.UNKNOWN_OP, node=node_id, field="op",
                                message=f"unknown op {op!r}", expected="a registered op",
                                found=op))
        elif node_id in self._nodes:
            issues.append(Issue(code=Code.EXPANSION_FAILED, node=node_id,
                                message=f"duplicate node id {node_id!r}"))
        else:
            node = check_node(node_id, spec, params or {}, inputs, self._type_of, issues,
                              source=self.macro.source, origin=self.macro.id)
            if node is not None:
                self._spend.charge(node, self.macro)
                self._nodes[node_id] = node
                self.added.append(node)
                return Handle(node_id, spec)
        raise _BuildFailed(issues)

    def upstream(self, ref: Ref[Any], *ops: str) -> Upstream:
        """The node `ref` comes from, read while planning; it must run one of `ops`.

        The one sanctioned way for a macro to read another node's settings (a bundle's cfg,
        a region's mask link): anything else is an ExpansionError naming what was found."""
        node = self._nodes.get(ref.node)
        name = node.spec.name if node is not None else "nothing"
        if node is None or (ops and name not in ops):
            raise ExpansionError(f"{ref} must come from {' or '.join(ops)} (found {name}); "
                                 f"{self.macro.spec.name} reads its settings while planning")
        return Upstream(name, node.params, node.inputs)

    def _auto_id(self, op: str) -> str:
        verb = op.rsplit(".", 1)[-1]
        n = self._counts.get(verb, 0)
        self._counts[verb] = n + 1
        return f"{verb}{n}"

    def _type_of(self, link: Link, node: str, port: str, issues: list[Issue]) -> PortType | None:
        source = self._nodes.get(link.node) if isinstance(link, Ref) else None
        out = source.spec.output(link.port) if source is not None and isinstance(
            link, Ref) else None
        if out is None:
            issues.append(Issue(code=Code.BAD_LINK, node=node, field=f"in.{port}",
                                message=f"{link} points at no known output",
                                expected="a link to an existing output", found=str(link)))
            return None
        return out.type


def stop_if(cancel: threading.Event | None) -> None:
    """Raise Cancelled when planning's `cancel` flag is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("planning was cancelled")


def expand(graph: Graph, registry: Registry, *, budget: Budget | None = None,
           cancel: threading.Event | None = None) -> Graph:
    """A new graph with every macro node replaced by its expansion (repeatedly: macros may
    build macros). `budget` bounds it as it runs (InvalidGraph past it); setting `cancel`
    stops it (Cancelled) at the next node."""
    macros = [n for n in graph.nodes.values() if n.spec.is_macro]
    if not macros and budget is None and len(graph.nodes) <= MAX_EXPANDED_NODES:
        stop_if(cancel)
        return graph  # nothing to expand, nothing over the default bounds
    nodes = dict(graph.nodes)
    aliases: dict[Ref[Any], Ref[Any]] = {}
    issues: list[Issue] = []
    spend = _Spend(budget or Budget(), cancel)
    admitted = [issue for node in graph.nodes.values() for issue in spend.issues(node)]
    if admitted:  # every document node over a limit, at once
        raise InvalidGraph(admitted)
    expanding, work = bool(macros), macros
    while work:
        node = _resolved(work.pop(), aliases)
        builder = Builder(node, registry, nodes, spend)
        try:
            outs = _output_refs(node.spec, _call_macro(node, builder))
            if spend.over:  # the macro swallowed the refusal
                raise InvalidGraph(spend.over)
        except _BuildFailed as exc:
            issues.extend(_within(node, i) for i in exc.issues)
            _drop(nodes, builder)
            continue
        except (ExpansionError, ValueError) as exc:
            issues.append(Issue(code=Code.EXPANSION_FAILED, node=node.id, field="params",
                                message=f"{node.spec.name} cannot expand: {exc}",
                                source=node.source))
            _drop(nodes, builder)
            continue
        del nodes[node.id]
        for port, ref in outs.items():
            aliases[Ref(node.id, port)] = ref
        work.extend(n for n in builder.added if n.spec.is_macro)
    if issues:
        raise InvalidGraph(issues)
    if aliases:
        nodes = {k: _resolved(n, aliases) for k, n in nodes.items()}
    outputs = {k: _follow(r, aliases) for k, r in graph.outputs.items()}
    return replace(graph, nodes=nodes, outputs=outputs, order=() if expanding else graph.order,
                   consumers=None if expanding else graph.consumers)


def _within(macro: Node, issue: Issue) -> Issue:
    """An issue of a node a macro built, saying which macro built it."""
    where = f"in the expansion of {macro.id!r} ({macro.spec.name}): "
    return issue.model_copy(update={"message": where + issue.message, "source": macro.source})


def _drop(nodes: dict[str, Node], builder: Builder) -> None:
    for added in builder.added:
        nodes.pop(added.id, None)


def _call_macro(node: Node, builder: Builder) -> Any:
    args: list[Any] = []
    for port in node.spec.inputs:
        value = node.inputs.get(port.name)
        if port.variadic:
            args.extend(value if isinstance(value, tuple) else ())
        else:
            args.append(value)
    return node.spec.fn(node.params, builder, *args)


def _output_refs(spec: OpSpec, result: Any) -> dict[str, Ref[Any]]:
    values = [result] if spec.single_output else list(result)
    if len(values) != len(spec.outputs) or not all(isinstance(v, Ref) for v in values):
        raise ExpansionError(f"macro {spec.name} must return {len(spec.outputs)} Ref(s)")
    return {p.name: v for p, v in zip(spec.outputs, values, strict=True)}


def _follow(ref: Ref[Any], aliases: Mapping[Ref[Any], Ref[Any]]) -> Ref[Any]:
    while ref in aliases:
        ref = aliases[ref]
    return ref


def _resolved(node: Node, aliases: Mapping[Ref[Any], Ref[Any]]) -> Node:
    """`node` with links to expanded macros' outputs pointed at what stands for them."""
    if not aliases or not any(isinstance(r, Ref) and r in aliases for r in node.links()):
        return node
    inputs: dict[str, Link | tuple[Link, ...]] = {}
    for port, value in node.inputs.items():
        if isinstance(value, tuple):
            inputs[port] = tuple(_link(r, aliases) for r in value)
        else:
            inputs[port] = _link(value, aliases)
    return node.replace(inputs=inputs)


def _link(link: Link, aliases: Mapping[Ref[Any], Ref[Any]]) -> Link:
    return link if isinstance(link, InputRef) else _follow(link, aliases)
