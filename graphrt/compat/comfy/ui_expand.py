"""Group-node and subgraph instances replaced by their definition's nodes, as ComfyUI's editor
flattens them when it queues a prompt (docs/comfyui-workflows.md).

A `Template` is a definition read once (graphrt.compat.comfy.ui_groups, ui_subgraphs): inner
nodes under their inner ids, inner links as where they come from (an inner node's output or
a boundary input), the boundary inputs (some shown as widgets on the instance), and per
instance output the inner output it carries. Expanding an instance with id P gives each
inner node the id `P:inner` (ComfyUI's execution ids; nested instances give `a:b:c`), binds
each boundary input to the link into the instance's input of that name, else to the
instance's widget value, else to nothing (the inner widget keeps its own value), and
redirects the links out of the instance to the inner outputs. Muted and bypassed instances
stay whole: the converter drops them or passes their inputs through, as for any node.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from graphrt.core.errors import Code, Issue

from .ui_graph import BYPASSED, MUTED, Alias, Source, UiGraph, UiNode, Value, is_control, issue

MAX_DEPTH = 32  # instances inside instances, at most


@dataclass(frozen=True)
class FromNode:
    node: str  # inner id
    slot: int


@dataclass(frozen=True)
class FromInput:
    index: int  # boundary input


@dataclass(frozen=True)
class Boundary:
    """An input of the instance: a socket, or a widget whose value is in widgets_values."""

    name: str
    widget: bool = False
    control: bool = False  # a control_after_generate value may follow the widget's value


@dataclass
class Template:
    label: str  # "group node 'X'" or "subgraph 'Name'", for messages
    nodes: list[UiNode] = field(default_factory=list)
    links: dict[str, FromNode | FromInput] = field(default_factory=dict)
    inputs: list[Boundary] = field(default_factory=list)
    outputs: list[FromNode | FromInput | None] = field(default_factory=list)
    widget_order: list[int] = field(default_factory=list)  # boundary inputs, values' order
    primitives: dict[int, str] = field(default_factory=dict)  # boundary → inner PrimitiveNode
    subgraph: bool = False  # inputs also found by position; control values skipped only
    # when the values outnumber the widgets (ComfyUI's rule for old subgraph instances)
    missing: list[UiNode] = field(default_factory=list)  # inner nodes of unknown classes


def expand(graph: UiGraph, templates: dict[str, Template], issues: list[Issue]) -> None:
    """Replace every live instance in `graph` by its template's nodes, nested ones too."""
    pending = [n.id for n in graph.nodes.values() if n.type in templates]
    while pending:
        node = graph.nodes[pending.pop(0)]
        if node.mode in (MUTED, BYPASSED):
            continue
        template = templates[node.type]
        if node.id.count(":") >= MAX_DEPTH:
            issues.append(issue(Code.TOO_DEEP, node, "type", f"node {node.id}{node.where}: "
                                f"{template.label} nests more than {MAX_DEPTH} levels deep"))
            continue
        if template.missing:
            _refuse(graph, node, template, issues)
            continue
        pending += [i for i in _expand_one(graph, node, template) if
                    graph.nodes[i].type in templates]


def _refuse(graph: UiGraph, node: UiNode, template: Template, issues: list[Issue]) -> None:
    for inner in template.missing:
        issues.append(issue(Code.UNKNOWN_CLASS, UiNode(f"{node.id}:{inner.id}", inner.type, 0,
                                                       [], [], []), "class_type",
                            f"node {node.id}:{inner.id} (in {template.label}, node {node.id})"
                            f" is of class {inner.type!r}, which graphrt does not support"))
    for link_id, s in list(graph.links.items()):  # what it fed is refused with it
        if isinstance(s, tuple) and s[0] == node.id:
            graph.links[link_id] = None
    del graph.nodes[node.id]


def _expand_one(graph: UiGraph, inst: UiNode, t: Template) -> list[str]:
    """Put `t`'s nodes in place of `inst`; returns the new node ids."""
    p = inst.id
    values = widget_values(inst.widgets, t)
    by_name = {e.get("name"): e for e in inst.inputs}
    bound: list[Source] = []
    for k, b in enumerate(t.inputs):
        entry = by_name.get(b.name)
        if entry is None and t.subgraph and k < len(inst.inputs):
            entry = inst.inputs[k]  # a renamed input, found by position
        link = entry.get("link") if entry else None
        bound.append(Alias(str(link)) if link is not None else
                     Value(values[k]) if k in values else None)

    def source(s: FromNode | FromInput | None) -> Source:
        if isinstance(s, FromNode):
            return f"{p}:{s.node}", s.slot
        return bound[s.index] if s is not None else None

    for link_id, s in t.links.items():
        graph.links[f"{p}/{link_id}"] = source(s)
    where = f" (in {t.label}, node {p})"
    added = []
    primitive_of = {inner: k for k, inner in t.primitives.items()}
    for n in t.nodes:
        node = copy.deepcopy(n)
        node.id, node.where = f"{p}:{n.id}", where
        for entry in node.inputs:
            if entry.get("link") is not None:
                entry["link"] = f"{p}/{entry['link']}"
        value = bound[primitive_of[n.id]] if n.id in primitive_of else None
        if isinstance(value, Value):
            node.widgets[:1] = [value.value]
        graph.nodes[node.id] = node
        added.append(node.id)
    for link_id, found in list(graph.links.items()):
        if isinstance(found, tuple) and found[0] == p:
            graph.links[link_id] = source(t.outputs[found[1]] if found[1] < len(t.outputs)
                                          else None)
    del graph.nodes[p]
    return added


def widget_values(values: list[Any], t: Template) -> dict[int, Any]:
    """Boundary input → the instance's value for it (its widgets_values, in the template's
    widget order, each seed-like widget's control_after_generate value skipped)."""
    out: dict[int, Any] = {}
    at = 0
    surplus = len(values) > len(t.widget_order)
    for k in t.widget_order:
        if at >= len(values):
            break
        out[k] = values[at]
        at += 1
        if t.inputs[k].control and at < len(values) and is_control(values[at]) and (
                surplus or not t.subgraph):
            at += 1
    return out
