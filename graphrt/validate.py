"""Semantic checks of a document against a registry; every issue is reported at once.

Checks: args (unknown, missing, wrong type), ops (unknown, with "did you mean"), params (via
each op's params model: ranges, types, unknown keys), links (malformed, unknown node or port,
type mismatch, missing required input), outputs, and cycles (with their path). The result is
a `Graph` of typed nodes, ready for macro expansion and planning.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from .args import BAD, resolve_args, resolve_refs, split_overrides
from .errors import InvalidGraph, Issue, show
from .graph import GraphDoc, Ref, parse_ref
from .op import OpSpec
from .registry import Registry
from .toposort import topological_order
from .types import PORT_TYPES, PortType

Inputs = dict[str, "Ref | tuple[Ref, ...]"]


@dataclass
class Node:
    """A checked node: its op, its validated params and its links."""

    id: str
    spec: OpSpec
    params: BaseModel
    inputs: Inputs
    origin: str | None = None  # the macro node this one was expanded from


@dataclass
class Graph:
    """A validated graph: typed nodes, output links, resolved args."""

    doc: GraphDoc
    nodes: dict[str, Node]
    outputs: dict[str, Ref]
    args: dict[str, Any] = field(default_factory=dict)
    input_types: dict[str, PortType] = field(default_factory=dict)

    def port_type(self, ref: Ref) -> PortType | None:
        if ref.is_graph_input:
            return self.input_types.get(ref.port)
        node = self.nodes.get(ref.node)
        port = node.spec.output(ref.port) if node else None
        return port.type if port else None


def validate(
    doc: GraphDoc,
    registry: Registry,
    *,
    args: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Graph:
    """Check `doc`; raise `InvalidGraph` with all issues, or return the typed Graph."""
    graph, issues = check(doc, registry, args=args, overrides=overrides)
    if issues or graph is None:
        raise InvalidGraph(issues)
    return graph


def check(
    doc: GraphDoc,
    registry: Registry,
    *,
    args: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[Graph | None, list[Issue]]:
    """Like `validate`, returning (graph or None, issues) instead of raising.

    `overrides` maps "node.param" to a value (the CLI's --set)."""
    issues: list[Issue] = []
    arg_values = resolve_args(doc, args or {}, issues)
    input_types = _input_types(doc, issues)
    by_node = split_overrides(doc, overrides or {}, issues)
    nodes: dict[str, Node] = {}
    for node_id, nd in doc.nodes.items():
        spec = registry.get(nd.op)
        if spec is None:
            hint = registry.suggest(nd.op)
            issues.append(Issue(code="unknown_op", node=node_id, field="op",
                                message=f"unknown op {nd.op!r}" + _did_you_mean(hint),
                                expected="a registered op", found=nd.op))
            continue
        raw = {k: resolve_refs(v, arg_values, node_id, k, issues) for k, v in nd.params.items()}
        raw = {k: v for k, v in raw.items() if v is not BAD}
        raw.update(by_node.get(node_id, {}))
        params = validate_params(spec, raw, node_id, issues)
        if params is not None:
            nodes[node_id] = Node(node_id, spec, params, {})
    for node_id, nd in doc.nodes.items():
        spec = registry.get(nd.op)
        if spec is not None:
            inputs = _check_links(node_id, spec, nd.in_, doc, registry, input_types, issues)
            if node_id in nodes:
                nodes[node_id].inputs = inputs
    outputs = _check_outputs(doc, registry, issues)
    _check_cycles(nodes, issues)
    if issues:
        return None, issues
    return Graph(doc, nodes, outputs, arg_values, input_types), []


def validate_params(
    spec: OpSpec, raw: dict[str, Any], node_id: str, issues: list[Issue]
) -> BaseModel | None:
    """Validate raw params with the op's params model, converting errors to issues."""
    try:
        return spec.params.model_validate(raw)
    except PydanticError as exc:
        fields = list(spec.params.model_fields)
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            kind = err.get("type", "")
            if kind == "extra_forbidden":
                hint = difflib.get_close_matches(loc, fields, n=1)
                issues.append(Issue(code="unknown_param", node=node_id, field=f"params.{loc}",
                                    message=f"{spec.name} has no param {loc!r}"
                                    + (f"; did you mean {hint[0]!r}?" if hint else ""),
                                    expected=", ".join(fields) or "no params",
                                    found=show(err.get("input"))))
            else:
                issues.append(Issue(code="invalid_param", node=node_id, field=f"params.{loc}",
                                    message=err.get("msg", "invalid value"),
                                    expected=expectation(err), found=show(err.get("input"))))
        return None


def expectation(err: Any) -> str:
    """A short 'expected' text for a pydantic error."""
    ctx = err.get("ctx") or {}
    bounds = [f"{op} {ctx[k]}" for k, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
              if k in ctx]
    if bounds:
        return " and ".join(bounds)
    for key in ("expected", "pattern", "min_length", "max_length", "error"):
        if key in ctx:
            return f"{key.replace('_', ' ')} {ctx[key]}" if key != "expected" else str(ctx[key])
    return str(err.get("type", "valid value")).replace("_", " ")


def _input_types(doc: GraphDoc, issues: list[Issue]) -> dict[str, PortType]:
    types: dict[str, PortType] = {}
    for name, spec in doc.inputs.items():
        ptype = PORT_TYPES.get(spec.type)
        if ptype is None:
            issues.append(Issue(code="unknown_type", field=f"inputs.{name}.type",
                                message=f"unknown port type {spec.type!r}",
                                expected=", ".join(PORT_TYPES), found=spec.type))
        else:
            types[name] = ptype
    return types


def _source_type(
    ref: Ref, doc: GraphDoc, registry: Registry, input_types: dict[str, PortType],
    node: str, port: str, issues: list[Issue],
) -> PortType | None:
    """The type of the port `ref` points at, or None (with an issue) if it does not exist."""
    where = {"node": node, "field": f"in.{port}"}
    if ref.is_graph_input:
        if ref.port not in doc.inputs:
            issues.append(Issue(code="unknown_input", **where,
                                message=f"link to undeclared graph input ${ref.port}",
                                expected=", ".join(f"${n}" for n in doc.inputs) or "none",
                                found=str(ref)))
        return input_types.get(ref.port)
    src = doc.nodes.get(ref.node)
    if src is None:
        hint = difflib.get_close_matches(ref.node, doc.nodes, n=1)
        issues.append(Issue(code="unknown_node", **where,
                            message=f"link to unknown node {ref.node!r}"
                            + (f"; did you mean {hint[0]!r}?" if hint else ""),
                            expected="an existing node id", found=str(ref)))
        return None
    spec = registry.get(src.op)
    if spec is None:
        return None  # reported on the source node
    out = spec.output(ref.port)
    if out is None:
        names = [p.name for p in spec.outputs]
        issues.append(Issue(code="unknown_output_port", **where,
                            message=f"node {ref.node!r} ({src.op}) has no output {ref.port!r}",
                            expected=", ".join(names), found=ref.port))
        return None
    return out.type


def _check_links(
    node_id: str, spec: OpSpec, links: dict[str, str | list[str]], doc: GraphDoc,
    registry: Registry, input_types: dict[str, PortType], issues: list[Issue],
) -> Inputs:
    inputs: Inputs = {}
    for port_name, value in links.items():
        port = spec.input(port_name)
        if port is None:
            names = [p.name for p in spec.inputs]
            hint = difflib.get_close_matches(port_name, names, n=1)
            issues.append(Issue(code="unknown_port", node=node_id, field=f"in.{port_name}",
                                message=f"{spec.name} has no input {port_name!r}"
                                + (f"; did you mean {hint[0]!r}?" if hint else ""),
                                expected=", ".join(names) or "no inputs", found=port_name))
            continue
        texts = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not port.variadic:
            issues.append(Issue(code="bad_link", node=node_id, field=f"in.{port_name}",
                                message="this port takes one link, not a list",
                                expected='"node.port"', found=show(value)))
            continue
        refs = []
        for text in texts:
            ref = parse_ref(text)
            if ref is None:
                issues.append(Issue(code="bad_link", node=node_id, field=f"in.{port_name}",
                                    message="a link is written \"node.port\" (or \"$input\")",
                                    expected='"node.port"', found=show(text)))
                continue
            src_type = _source_type(ref, doc, registry, input_types, node_id, port_name, issues)
            if src_type is not None and not port.type.accepts(src_type):
                issues.append(Issue(code="type_mismatch", node=node_id, field=f"in.{port_name}",
                                    message=f"{str(ref)} gives {src_type}, but {port_name} takes "
                                    f"{port.type}", expected=str(port.type), found=str(src_type)))
            refs.append(ref)
        inputs[port_name] = tuple(refs) if port.variadic else refs[0] if refs else None  # type: ignore[assignment]
    for port in spec.inputs:
        if not port.optional and port.name not in links:
            issues.append(Issue(code="missing_input", node=node_id, field=f"in.{port.name}",
                                message=f"required input {port.name!r} ({port.type}) is not linked",
                                expected=str(port.type), found="nothing"))
    return {k: v for k, v in inputs.items() if v is not None}


def _check_outputs(doc: GraphDoc, registry: Registry, issues: list[Issue]) -> dict[str, Ref]:
    outputs: dict[str, Ref] = {}
    for name, text in doc.outputs.items():
        ref = parse_ref(text)
        if ref is None or ref.is_graph_input:
            issues.append(Issue(code="bad_link", field=f"outputs.{name}",
                                message="an output is written \"node.port\"",
                                expected='"node.port"', found=show(text)))
            continue
        nd = doc.nodes.get(ref.node)
        if nd is None:
            issues.append(Issue(code="unknown_node", field=f"outputs.{name}",
                                message=f"output {name!r} names unknown node {ref.node!r}",
                                expected="an existing node id", found=ref.node))
            continue
        spec = registry.get(nd.op)
        if spec is not None and spec.output(ref.port) is None:
            issues.append(Issue(code="unknown_output_port", node=ref.node,
                                field=f"outputs.{name}",
                                message=f"node {ref.node!r} ({nd.op}) has no output {ref.port!r}",
                                expected=", ".join(p.name for p in spec.outputs), found=ref.port))
            continue
        outputs[name] = ref
    return outputs


def _check_cycles(nodes: dict[str, Node], issues: list[Issue]) -> None:
    upstreams = {n.id: [r.node for r in iter_refs(n.inputs)] for n in nodes.values()}
    if len(topological_order(nodes, upstreams)) == len(nodes):
        return
    g = nx.DiGraph()  # a cycle: networkx finds its path for the message
    g.add_nodes_from(nodes)
    g.add_edges_from((u, n) for n, ups in upstreams.items() for u in ups if u in nodes)
    cycle = nx.find_cycle(g)
    path = [u for u, _v in cycle] + [cycle[0][0]]
    issues.append(Issue(code="cycle", node=path[0], message="cycle: " + " → ".join(path),
                        expected="an acyclic graph", found=" → ".join(path)))


def _did_you_mean(hints: list[str]) -> str:
    return f"; did you mean {' or '.join(map(repr, hints))}?" if hints else ""


def iter_refs(inputs: Inputs) -> list[Ref]:
    """Every link of a node's inputs, variadic ones flattened."""
    out: list[Ref] = []
    for value in inputs.values():
        if isinstance(value, tuple):
            out.extend(value)
        else:
            out.append(value)
    return out
