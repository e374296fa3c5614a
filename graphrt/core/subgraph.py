"""Graphs as ops: a document with declared `inputs` and `outputs` becomes a macro op.

Its args become the op's params, its inputs the op's input ports, its outputs the op's
output ports (typed from the nodes they name). At plan time it expands inline through the
same Builder (and node checker) as any macro, so every inner node is keyed and cached on
its own, as "<node>/<inner id>".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ConfigDict, create_model

from .document import GraphDoc, InputRef, Link, Ref, load_graph
from .expand import Builder
from .op import OpSpec, Port
from .registry import Registry
from .toposort import topological_order
from .validate import validate

_PY_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "json": Any}


def graph_op(name: str, source: str | Path | dict[str, Any] | GraphDoc, registry: Registry,
             *, version: int = 1) -> OpSpec:
    """An OpSpec (a macro) that inlines the graph `source`; validated against `registry`."""
    doc = load_graph(source)
    graph = validate(doc, registry)
    fields: dict[str, Any] = {}
    for arg, spec in doc.args.items():
        default = ... if spec.required and spec.default is None else spec.default
        fields[arg] = (_PY_TYPES[spec.type], default)
    params = create_model(f"{name.replace('.', '_')}_params",
                          __config__=ConfigDict(frozen=True, extra="forbid"), **fields)
    inputs = tuple(Port(n, graph.input_types[n], optional=s.optional)
                   for n, s in doc.inputs.items())
    outputs = []
    for out_name, ref in graph.outputs.items():
        ptype = graph.port_type(ref)
        assert ptype is not None
        outputs.append(Port(out_name, ptype))
    order = topological_order(graph.nodes, {n.id: n.upstream_ids() for n in graph.nodes.values()})

    def expand(p: Any, g: Builder, *refs: Ref[Any] | None) -> Any:
        bound = dict(zip(doc.inputs, refs, strict=True))
        sub = validate(doc, registry, args=p.model_dump())
        handles: dict[str, Any] = {}

        def mapped(link: Link) -> Ref[Any] | None:
            return bound[link.name] if isinstance(link, InputRef) else handles[link.node][
                link.port]

        for node_id in order:
            node = sub.nodes[node_id]
            links: dict[str, Any] = {}
            for port, value in node.inputs.items():
                if isinstance(value, tuple):
                    links[port] = tuple(m for m in map(mapped, value) if m is not None)
                else:
                    links[port] = mapped(value)
            handles[node_id] = g.add(node.spec.name, node.params, id=node_id, **links)
        outs = [handles[r.node][r.port] for r in sub.outputs.values()]
        return outs[0] if len(outs) == 1 else tuple(outs)

    return OpSpec(name, version, expand, params, inputs, tuple(outputs),
                  single_output=len(outputs) == 1, injected=frozenset(),
                  description=doc.description, is_macro=True)
