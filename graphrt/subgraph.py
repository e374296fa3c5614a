"""Graphs as ops: a document with declared `inputs` and `outputs` becomes a macro op.

Its args become the op's params, its inputs the op's input ports, its outputs the op's
output ports (typed from the nodes they name). At plan time it expands inline, so every
inner node is keyed and cached on its own, as "<node>/<inner id>".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import ConfigDict, create_model

from .expand import Builder
from .graph import GraphDoc, Ref, load_graph, parse_ref
from .op import OpSpec, Port
from .registry import Registry
from .types import PORT_TYPES
from .validate import iter_refs, validate

_PY_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "json": Any}


def graph_op(name: str, source: str | Path | dict[str, Any] | GraphDoc, registry: Registry,
             *, version: int = 1) -> OpSpec:
    """An OpSpec (a macro) that inlines the graph `source`; validated against `registry`."""
    doc = source if isinstance(source, GraphDoc) else load_graph(source)
    graph = validate(doc, registry)
    fields: dict[str, Any] = {}
    for arg, spec in doc.args.items():
        default = ... if spec.required and spec.default is None else spec.default
        fields[arg] = (_PY_TYPES[spec.type], default)
    params = create_model(f"{name.replace('.', '_')}_params",
                          __config__=ConfigDict(frozen=True, extra="forbid"), **fields)
    inputs = tuple(Port(n, PORT_TYPES[s.type], optional=s.optional) for n, s in doc.inputs.items())
    outputs = []
    for out_name, ref in graph.outputs.items():
        ptype = graph.port_type(ref)
        assert ptype is not None
        outputs.append(Port(out_name, ptype))
    order = _order(doc)

    def expand(p: Any, g: Builder, *refs: Ref | None) -> Any:
        bound = dict(zip(doc.inputs, refs, strict=True))
        sub = validate(doc, registry, args=p.model_dump())
        handles: dict[str, Any] = {}
        for node_id in order:
            node = sub.nodes[node_id]
            links: dict[str, Any] = {}
            for port, value in node.inputs.items():
                refs_ = value if isinstance(value, tuple) else (value,)
                mapped = [bound[r.port] if r.is_graph_input else handles[r.node][r.port]
                          for r in refs_]
                links[port] = tuple(m for m in mapped if m is not None) if isinstance(
                    value, tuple) else mapped[0]
            handles[node_id] = g.add(node.spec.name, node.params, id=node_id, **links)
        outs = [handles[r.node][r.port] for r in sub.outputs.values()]
        return outs[0] if len(outs) == 1 else tuple(outs)

    return OpSpec(name, version, expand, params, inputs, tuple(outputs),
                  single_output=len(outputs) == 1, injected=frozenset(),
                  description=doc.description, is_macro=True)


def _order(doc: GraphDoc) -> list[str]:
    g = nx.DiGraph()
    g.add_nodes_from(sorted(doc.nodes))
    for node_id, node in doc.nodes.items():
        for value in node.in_.values():
            for text in value if isinstance(value, list) else [value]:
                ref = parse_ref(text)
                if ref is not None and not ref.is_graph_input:
                    g.add_edge(ref.node, node_id)
    return list(nx.lexicographical_topological_sort(g))


__all__ = ["graph_op", "iter_refs"]
