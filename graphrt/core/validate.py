"""Semantic checks of a document against a registry; every issue is reported at once.

Checks: args (unknown, missing, wrong type), ops (unknown, with "did you mean"), each node
through the one node checker (`check.check_node`: params, ports, link types, required
inputs), outputs, and cycles (with their path). The result is a checked `Graph`, ready for
macro expansion and planning.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import networkx as nx
from pydantic import BaseModel

from .args import BAD, resolve_args, resolve_refs, split_overrides
from .check import check_node, did_you_mean, params_key
from .document import GraphDoc, InputRef, Link, Ref, parse_ref
from .errors import Code, InvalidGraph, Issue, show
from .graph import Graph, Node
from .op import OpSpec
from .registry import Registry
from .toposort import ordered
from .types import PortType


def validate(
    doc: GraphDoc,
    registry: Registry,
    *,
    args: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Graph:
    """Check `doc`; raise `InvalidGraph` with all issues, or return the checked Graph."""
    graph, issues = check(doc, registry, args=args, overrides=overrides)
    if issues or graph is None:
        raise InvalidGraph(issues)
    return graph


def check(
    doc: GraphDoc,
    registry: Registry,
    *,
    args: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Graph | None, list[Issue]]:
    """Like `validate`, returning (graph or None, issues) instead of raising.

    `overrides` maps "node.param" to a value (the CLI's --set)."""
    issues: list[Issue] = []
    arg_values = resolve_args(doc, dict(args or {}), issues)
    input_types = _input_types(doc, registry, issues)
    by_node = split_overrides(doc, dict(overrides or {}), issues)
    doc_nodes = doc.nodes
    spec_of = registry.by_name.get
    specs = {node_id: spec_of(nd.op) for node_id, nd in doc_nodes.items()}

    def type_of(link: Link, node: str, port: str, found: list[Issue]) -> PortType | None:
        if type(link) is Ref:  # the common case: a link to a known node's known port
            spec = specs.get(link.node)
            out = spec.outputs_by_name.get(link.port) if spec is not None else None
            if out is not None:
                return out.type
        return _source_type(link, doc, registry, input_types, node, port, found)

    nodes: dict[str, Node] = {}
    lanes: dict[tuple[Any, ...], BaseModel] = {}  # shape of a node checked sound → its params
    for node_id, nd in doc_nodes.items():
        spec = specs[node_id]
        if spec is None:
            issues.append(Issue(code=Code.UNKNOWN_OP, node=node_id, field="op",
                                message=f"unknown op {nd.op!r}" + did_you_mean(
                                    registry.suggest(nd.op)),
                                expected="a registered op", found=nd.op))
            continue
        raw: dict[str, Any] = nd.params
        key = params_key(raw)
        if key is None:  # not flat: args may be referenced
            raw = {k: resolve_refs(v, arg_values, node_id, k, issues) for k, v in raw.items()}
            raw = {k: v for k, v in raw.items() if v is not BAD}
        if node_id in by_node:
            raw = {**raw, **by_node[node_id]}
            key = None
        shape, refs, ups = _shape(spec, params_key(raw) if key is None else key, nd.in_,
                                  specs)
        if shape is not None:
            model = lanes.get(shape)
            if model is not None:  # checked sound already, in every respect that matters
                nodes[node_id] = Node(node_id, spec, model, refs, node_id, None, ups)
                continue
            links = refs  # every link parsed already
        else:
            links = {port: _parse_link(value, doc_nodes) or _parse_links(
                         node_id, port, value, doc_nodes, issues)
                     for port, value in nd.in_.items()}
        before = len(issues)
        node = check_node(node_id, spec, raw, links, type_of, issues, source=node_id)
        if node is not None:
            nodes[node_id] = node
            if shape is not None and len(issues) == before:
                lanes[shape] = node.params
    outputs = _check_outputs(doc, registry, issues)
    order, consumers = _order_or_cycle(nodes, issues)
    if issues:
        return None, issues
    return Graph(doc, nodes, outputs, arg_values, dict(overrides or {}), input_types,
                 order, consumers), []


def _shape(spec: OpSpec, key: tuple[Any, ...] | None, links: Mapping[str, str | list[str]],
           specs: Mapping[str, OpSpec | None]
           ) -> tuple[tuple[Any, ...] | None, dict[str, Any], tuple[str, ...]]:
    """(shape, parsed links, distinct upstream ids) of a node with flat params and single
    links to nodes of known ops, else (None, {}, ()). Everything checking a node decides
    follows from its shape (op, params, and each link's port with the op and port it reads),
    so nodes of one shape are checked once: a graph that repeats a recipe checks it once.
    `key` is the params' `params_key`."""
    if key is None:
        return None, {}, ()
    if len(links) < 2:  # the commonest nodes: one link, or none
        if not links:
            return (spec, key), {}, ()
        for port, text in links.items():
            if type(text) is str:
                node, _dot, out = text.rpartition(".")
                src = specs.get(node)
                if src is not None and out in src.outputs_by_name:
                    return (spec, key, port, src, out), {port: Ref(node, out)}, (node,)
        return None, {}, ()
    refs: dict[str, Any] = {}
    sources: list[tuple[str, OpSpec, str]] = []
    ups: dict[str, None] = {}
    for port, text in links.items():
        if type(text) is not str:
            return None, {}, ()
        node, _dot, out = text.rpartition(".")
        src = specs.get(node)
        if src is None or out not in src.outputs_by_name:
            return None, {}, ()
        refs[port] = Ref(node, out)
        sources.append((port, src, out))
        ups[node] = None
    return (spec, key, tuple(sources)), refs, tuple(ups)


def _parse_link(value: str | list[str], nodes: Mapping[str, Any]) -> Ref[Any] | None:
    """The common case of a link: "node.port" to a node of the document (ids there are
    checked already), else None (and `_parse_links` takes it, with its issues)."""
    if type(value) is str:
        node, dot, port = value.rpartition(".")
        if dot and node in nodes and port.isidentifier() and port.isascii():
            return Ref(node, port)
    return None


def _parse_links(node_id: str, port: str, value: str | list[str], nodes: Mapping[str, Any],
                 issues: list[Issue]) -> Link | list[Link] | None:
    texts = value if isinstance(value, list) else [value]
    refs: list[Link] = []
    for text in texts:
        ref = _parse_link(text, nodes) or parse_ref(text)
        if ref is None:
            issues.append(Issue(code=Code.BAD_LINK, node=node_id, field=f"in.{port}",
                                message="a link is written \"node.port\" (or \"$input\")",
                                expected='"node.port"', found=show(text)))
            return None
        refs.append(ref)
    return refs if isinstance(value, list) else refs[0]


def _input_types(doc: GraphDoc, registry: Registry, issues: list[Issue]) -> dict[str, PortType]:
    known = registry.port_types()
    types: dict[str, PortType] = {}
    for name, spec in doc.inputs.items():
        ptype = known.get(spec.type)
        if ptype is None:
            issues.append(Issue(code=Code.UNKNOWN_TYPE, field=f"inputs.{name}.type",
                                message=f"unknown port type {spec.type!r}",
                                expected=", ".join(sorted(known)), found=spec.type))
        else:
            types[name] = ptype
    return types


def _source_type(
    link: Link, doc: GraphDoc, registry: Registry, input_types: Mapping[str, PortType],
    node: str, port: str, issues: list[Issue],
) -> PortType | None:
    """The type of the port `link` points at, or None (with an issue) if it does not exist."""
    field = f"in.{port}"
    if isinstance(link, InputRef):
        if link.name not in doc.inputs:
            issues.append(Issue(code=Code.UNKNOWN_INPUT, node=node, field=field,
                                message=f"link to undeclared graph input {link}",
                                expected=", ".join(f"${n}" for n in doc.inputs) or "none",
                                found=str(link)))
        return input_types.get(link.name)
    src = doc.nodes.get(link.node)
    if src is None:
        hint = difflib.get_close_matches(link.node, doc.nodes, n=1)
        issues.append(Issue(code=Code.UNKNOWN_NODE, node=node, field=field,
                            message=f"link to unknown node {link.node!r}" + did_you_mean(hint),
                            expected="an existing node id", found=str(link)))
        return None
    spec = registry.get(src.op)
    if spec is None:
        return None  # reported on the source node
    out = spec.output(link.port)
    if out is None:
        issues.append(Issue(code=Code.UNKNOWN_OUTPUT_PORT, node=node, field=field,
                            message=f"node {link.node!r} ({src.op}) has no output {link.port!r}",
                            expected=", ".join(p.name for p in spec.outputs), found=link.port))
        return None
    return out.type


def _check_outputs(doc: GraphDoc, registry: Registry, issues: list[Issue]) -> dict[str, Ref[Any]]:
    outputs: dict[str, Ref[Any]] = {}
    for name, text in doc.outputs.items():
        ref = parse_ref(text)
        if not isinstance(ref, Ref):
            issues.append(Issue(code=Code.BAD_LINK, field=f"outputs.{name}",
                                message="an output is written \"node.port\"",
                                expected='"node.port"', found=show(text)))
            continue
        nd = doc.nodes.get(ref.node)
        if nd is None:
            issues.append(Issue(code=Code.UNKNOWN_NODE, field=f"outputs.{name}",
                                message=f"output {name!r} names unknown node {ref.node!r}",
                                expected="an existing node id", found=ref.node))
            continue
        spec = registry.get(nd.op)
        if spec is not None and spec.output(ref.port) is None:
            issues.append(Issue(code=Code.UNKNOWN_OUTPUT_PORT, node=ref.node,
                                field=f"outputs.{name}",
                                message=f"node {ref.node!r} ({nd.op}) has no output {ref.port!r}",
                                expected=", ".join(p.name for p in spec.outputs), found=ref.port))
            continue
        outputs[name] = ref
    return outputs


def _order_or_cycle(nodes: Mapping[str, Node], issues: list[Issue]
                    ) -> tuple[tuple[str, ...], dict[str, list[str]] | None]:
    """The nodes' topological order and consumers (what planning reuses when it keeps
    every node), or ((), None) with an issue naming a cycle's path."""
    upstreams = {n.id: n.upstream for n in nodes.values()}
    order, consumers = ordered(nodes, upstreams)
    if len(order) == len(nodes):
        return tuple(order), consumers
    g = nx.DiGraph()  # a cycle: networkx finds its path for the message
    g.add_nodes_from(nodes)
    g.add_edges_from((u, n) for n, ups in upstreams.items() for u in ups if u in nodes)
    cycle = nx.find_cycle(g)
    path = [u for u, _v in cycle] + [cycle[0][0]]
    issues.append(Issue(code=Code.CYCLE, node=path[0], message="cycle: " + " → ".join(path),
                        expected="an acyclic graph", found=" → ".join(path)))
    return (), None
