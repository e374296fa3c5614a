"""Subgraphs (the new editor's `definitions.subgraphs`) read as `Template`s
(docs/comfyui-workflows.md).

A definition has an `id` (a node whose `type` is that id is an instance), `inputs` and
`outputs` (each with the `linkIds` that leave or reach the boundary), `nodes` and `links` as
objects. A link from node -10 comes from the boundary input of index `origin_slot`; a link
to node -20 feeds the boundary output of index `target_slot`. A boundary input linked to an
inner widget shows that widget on the instance, its value in the instance's
`widgets_values`, one per such input in input order (older instances also keep a
control_after_generate value after a seed's, which is skipped when the values outnumber the
widgets). Widgets promoted without a link (`properties.proxyWidgets`) show the inner
widget, whose value the definition's node keeps. Definitions may nest (`definitions` inside
a definition); inner nodes get the ids `<instance>:<inner id>`.
"""

from __future__ import annotations

from typing import Any

from graphrt.core.errors import Issue

from .classes import any_class
from .ui_expand import Boundary, FromInput, FromNode, Template
from .ui_graph import has_control, list_of_dicts, read_links, read_node

INPUT_NODE, OUTPUT_NODE = "-10", "-20"


def subgraph_templates(data: dict[str, Any], issues: list[Issue]) -> dict[str, Template]:
    """Subgraph id → template, for every definition in the document (nested ones too)."""
    out: dict[str, Template] = {}
    todo = [data]
    while todo:
        holder = todo.pop()
        definitions = holder.get("definitions")
        for d in list_of_dicts(definitions.get("subgraphs") if isinstance(definitions, dict)
                               else None):
            if isinstance(d.get("id"), str) and d["id"] not in out:
                out[d["id"]] = _template(d, issues)
                todo.append(d)
    return out


def _template(d: dict[str, Any], issues: list[Issue]) -> Template:
    label = f"subgraph {str(d.get('name') or d['id'])!r}"
    t = Template(label, subgraph=True)
    for raw in d.get("nodes") or []:
        node = read_node(raw, issues, f" (in {label})")
        if node is not None:
            t.nodes.append(node)
    nodes = {n.id: n for n in t.nodes}
    links = read_links(d.get("links"), issues)
    for link_id, (origin, slot, _, _) in links.items():
        t.links[link_id] = FromInput(slot) if origin == INPUT_NODE else FromNode(origin, slot)
    for k, raw in enumerate(list_of_dicts(d.get("inputs"))):
        widget, control = _shown_widget(raw, links, nodes)
        t.inputs.append(Boundary(str(raw.get("name")), widget=widget, control=control))
        if widget:
            t.widget_order.append(k)
    for k, raw in enumerate(list_of_dicts(d.get("outputs"))):
        ids = [str(i) for i in raw.get("linkIds") or []] or [
            i for i, (_, _, target, slot) in links.items() if target == OUTPUT_NODE and
            slot == k]
        t.outputs.append(t.links.get(ids[0]) if ids else None)
    return t


def _shown_widget(raw: dict[str, Any], links: dict[str, tuple[str, int, str, int]],
                  nodes: dict[str, Any]) -> tuple[bool, bool]:
    """(the instance shows this boundary input as a widget, a control value follows it):
    the first inner input it links to that is a widget decides, as in the editor."""
    for link_id in raw.get("linkIds") or []:
        _, _, target, slot = links.get(str(link_id), ("", 0, "", -1))
        node = nodes.get(target)
        if node is None or not 0 <= slot < len(node.inputs):
            continue
        widget = node.inputs[slot].get("widget")
        if isinstance(widget, dict):
            name = str(widget.get("name") or node.inputs[slot].get("name"))
            cls = any_class(node.type)
            spec = cls.input(name) if cls is not None else None
            return True, spec is not None and has_control(name, spec.type)
    return False, False
