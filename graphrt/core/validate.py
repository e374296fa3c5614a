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

from .args import BAD, resolve_args, resolve_refs, split_overrides
from .check import check_node, did_you_mean
from .document import GraphDoc, InputRef, Link, Ref, parse_ref
from .errors import Code, InvalidGraph, Issue, show
from .graph import Graph, Node
from .registry import Registry
from .toposort import topological_order
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

    def type_of(link: Link, node: str, port: str, found: list[Issue]) -> PortType | None:
        return _source_type(link, doc, registry, input_types, node, port, found)

    nodes: dict[str, Node] = {}
    for node_id, nd in doc.nodes.items():
        spec = registry.get(nd.op)
        if spec is None:
            issues.append(Issue(code=Code.UNKNOWN_OP, node=node_id, field="op",
                                message=f"unknown op {nd.op!r}" + did_you_mean(
                                    registry.suggest(nd.op)),
                                expected="a registered op", found=nd.op))
            continue
        raw = {k: resolve_refs(v, arg_values, node_id, k, issues) for k, v in nd.params.items()}
        raw = {k: v for k, v in raw.items() if v is not BAD}
        raw.update(by_node.get(node_id, {}))
        links = {port: _parse_links(node_id, port, value, issues)
                 for port, value in nd.in_.items()}
        node = check_node(node_id, spec, raw, links, type_of, issues, source=node_id)
        if node is not None:
            nodes[node_id] = node
    outputs = _check_outputs(doc, registry, issues)
    _check_cycles(nodes, issues)
    if issues:
        return None, issues
    return Graph(doc, nodes, outputs, arg_values, dict(overrides or {}), input_types), []


def _parse_links(node_id: str, port: str, value: str | list[str],
                 issues: list[Issue]) -> Link | list[Link] | None:
    texts = value if isinstance(value, list) else [value]
    refs: list[Link] = []
    for text in texts:
        ref = parse_ref(text)
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


def _check_cycles(nodes: Mapping[str, Node], issues: list[Issue]) -> None:
    upstreams = {n.id: n.upstream_ids() for n in nodes.values()}
    if len(topological_order(nodes, upstreams)) == len(nodes):
        return
    g = nx.DiGraph()  # a cycle: networkx finds its path for the message
    g.add_nodes_from(nodes)
    g.add_edges_from((u, n) for n, ups in upstreams.items() for u in ups if u in nodes)
    cycle = nx.find_cycle(g)
    path = [u for u, _v in cycle] + [cycle[0][0]]
    issues.append(Issue(code=Code.CYCLE, node=path[0], message="cycle: " + " → ".join(path),
                        expected="an acyclic graph", found=" → ".join(path)))
