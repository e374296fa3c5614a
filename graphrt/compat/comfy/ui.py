"""ComfyUI's UI format (what the editor saves, and PNGs carry as "workflow") → its API format.

    {"last_node_id": 9, "last_link_id": 9,
     "nodes": [{"id": 3, "type": "KSampler", "mode": 0,
                "inputs": [{"name": "model", "type": "MODEL", "link": 1}, ...],
                "outputs": [{"name": "LATENT", "type": "LATENT", "links": [7]}],
                "widgets_values": [156680208700286, "randomize", 20, 8, "euler", "normal", 1]}],
     "links": [[1, 4, 0, 3, 0, "MODEL"], ...],      # id, from node, from slot, to node, to slot
     ...}

The conversion is the editor's own, done here (docs/comfyui-workflows.md):
- widget values map to the class's widget inputs in the class's order (`classes.CLASSES`);
  a seed widget is followed by its `control_after_generate` value ("fixed", "randomize", …
  or, in old files, a boolean), which is skipped; values past the known widgets (an upload
  button's) are ignored;
- a widget converted to an input takes its link (a value from a PrimitiveNode is the
  primitive's own value);
- Reroute nodes pass their link through; Note and MarkdownNote nodes are dropped;
- muted nodes (mode 2) are dropped with their links; bypassed nodes (mode 4) pass each
  output through from the input of the same type (the same slot first);
- group nodes (`extra.groupNodes`) and subgraphs (`definitions.subgraphs`) are replaced by
  their inner nodes, with ComfyUI's ids (`outer:inner`, nested `a:b:c`), their boundary
  links resolved and the instance's widget values given to the inner widgets
  (graphrt.compat.comfy.ui_groups, ui_subgraphs, ui_expand);
- links are lists or, in newer files, objects.
Node ids stay the user's. A node of an unknown class (inside a group node or subgraph too)
or a malformed document is refused with issues that say the document is in ComfyUI's UI
format and name the node, its class and the widget.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from graphrt.core.errors import Code, Issue

from .classes import NodeClass, any_class
from .ui_expand import Template, expand
from .ui_graph import (
    BYPASSED,
    FORMAT,
    MUTED,
    SEED_WIDGETS,
    Alias,
    UiGraph,
    UiNode,
    Value,
    has_control,
    is_control,
    issue,
    read_graph,
    widget_specs,
)
from .ui_groups import PREFIXES, group_templates
from .ui_subgraphs import subgraph_templates
from .ui_text import SAVE_CLASSES, replace_text

__all__ = ["FORMAT", "SEED_WIDGETS", "class_types", "detect", "to_api"]

IGNORED = frozenset({"Note", "MarkdownNote"})
MAX_HOPS = 10_000  # reroutes, bypasses and boundaries followed from one input, at most
SUBGRAPH_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def detect(data: dict[str, Any]) -> bool:
    """A UI-format workflow: a list of nodes and a list of links."""
    return isinstance(data.get("nodes"), list) and isinstance(data.get("links"), list)


def class_types(data: dict[str, Any]) -> dict[str, str]:
    """Node id → class of a UI-format workflow's nodes, group nodes and subgraphs flattened
    (for messages and errors)."""
    graph = _flat(data, [])
    return {node.id: node.type for node in graph.nodes.values()}


def to_api(data: dict[str, Any], *, now: datetime | None = None
           ) -> tuple[dict[str, Any] | None, list[Issue]]:
    """The API-format prompt of a UI-format workflow, or None with the issues that block it.
    `now` is the time %date:…% in a save node's filename_prefix stands for (default: now)."""
    issues: list[Issue] = []
    graph = _flat(data, issues)
    prompt: dict[str, Any] = {}
    for node in graph.nodes.values():
        if node.type in IGNORED or node.type in ("Reroute", "PrimitiveNode") or node.mode in (
                MUTED, BYPASSED):
            continue
        cls = any_class(node.type)
        if cls is None:
            issues.append(issue(Code.UNKNOWN_CLASS, node, "class_type",
                                f"node {node.id}{node.where} is of class {node.type!r}, "
                                f"which graphrt does not support{_hint(node.type, data)}"))
            continue
        prompt[node.id] = _api_node(node, cls, graph, issues)
    if issues:
        return None, issues
    _replace_texts(prompt, graph, now or datetime.now())
    return prompt, []


def _replace_texts(prompt: dict[str, Any], graph: UiGraph, now: datetime) -> None:
    """The editor's %date:…% and %Node.widget% replacements in save nodes' prefixes."""
    names = {n.id: (n.sr_name, n.title) for n in graph.nodes.values()}
    widgets = {k: v["inputs"] for k, v in prompt.items()}
    for node in prompt.values():
        prefix = node["inputs"].get("filename_prefix")
        if node["class_type"] in SAVE_CLASSES and isinstance(prefix, str) and "%" in prefix:
            node["inputs"]["filename_prefix"] = replace_text(prefix, widgets, names, now)


def _flat(data: dict[str, Any], issues: list[Issue]) -> UiGraph:
    """The document's graph with every group-node and subgraph instance expanded."""
    graph = read_graph(data, issues)
    templates: dict[str, Template] = {**group_templates(data, issues),
                                      **subgraph_templates(data, issues)}
    expand(graph, templates, issues)
    return graph


def _hint(class_type: str, data: dict[str, Any]) -> str:
    """Why a class is unknown, when the name tells: a group node, subgraph or component whose
    definition the document lacks."""
    if class_type.startswith(PREFIXES):
        return " (a group node whose definition is not in the document's extra.groupNodes)"
    if SUBGRAPH_ID.fullmatch(class_type):
        return " (a subgraph whose definition is not in the document's definitions.subgraphs)"
    if class_type.startswith("## "):
        return (" (a component of the ComfyUI-Workflow-Component extension, defined in a "
                ".component.json file outside the document)")
    return ""


def _api_node(node: UiNode, cls: NodeClass, graph: UiGraph,
              issues: list[Issue]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    values, at = node.widgets, 0
    for name, kind in widget_specs(cls):
        if at < len(values):
            inputs[name] = values[at]
        at += 1
        if has_control(name, kind) and at < len(values) and is_control(values[at]):
            at += 1  # the seed's control_after_generate value
    for entry in node.inputs:
        target, link = entry.get("name"), entry.get("link")
        if not isinstance(target, str) or link is None:
            continue
        source = _resolve(graph, str(link), entry.get("type"), issues, node, target)
        if source is None:  # from a muted node, or nothing: a widget keeps its value
            continue
        if isinstance(source, Value):
            inputs[target] = source.value
        else:
            inputs[target] = [source[0], source[1]]
    out: dict[str, Any] = {"class_type": node.type, "inputs": inputs}
    if node.title:
        out["_meta"] = {"title": node.title}
    return out


def _resolve(graph: UiGraph, link: str, kind: Any, issues: list[Issue], target: UiNode,
             name: str) -> tuple[str, int] | Value | None:
    """The real source of a link: through reroutes, bypassed nodes and group or subgraph
    boundaries, to a node's output slot or a literal value; None when it comes from a muted
    node or nowhere."""
    for _ in range(MAX_HOPS):
        if link not in graph.links:
            issues.append(issue(Code.BAD_LINK, target, name,
                                f"input {name!r} of node {target.id}{target.where} "
                                f"({target.type}) uses link {link}, which the workflow does "
                                "not define"))
            return None
        found = graph.links[link]
        if isinstance(found, Alias):
            link = found.link
            continue
        if found is None or isinstance(found, Value):
            return found
        source_id, slot = found
        source = graph.nodes.get(source_id)
        if source is None:
            issues.append(issue(Code.UNKNOWN_NODE, target, name,
                                f"input {name!r} of node {target.id}{target.where} links to "
                                f"missing node {source_id}"))
            return None
        if source.mode == MUTED:
            return None
        if source.type == "PrimitiveNode":
            return Value(source.widgets[0]) if source.widgets else None
        if source.type == "Reroute" or source.mode == BYPASSED:
            passed = _through(source, slot, kind)
            if passed is None:
                return None
            link = passed
            continue
        return source.id, slot
    issues.append(issue(Code.BAD_LINK, target, name, "the link loops through reroutes"))
    return None


def _through(node: UiNode, slot: int, kind: Any) -> str | None:
    """The link into a reroute, or into a bypassed node's input matching output `slot`."""
    linked = [(i, e) for i, e in enumerate(node.inputs) if e.get("link") is not None]
    if node.type == "Reroute":
        return str(linked[0][1]["link"]) if linked else None
    out_type = node.outputs[slot].get("type") if slot < len(node.outputs) else kind
    for i, entry in linked:
        if i == slot and entry.get("type") == out_type:
            return str(entry["link"])
    for _i, entry in linked:
        if entry.get("type") == out_type:
            return str(entry["link"])
    return None
