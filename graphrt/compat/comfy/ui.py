"""ComfyUI's UI format (what the editor saves, and PNGs carry as "workflow") → its API format.

    {"last_node_id": 9, "last_link_id": 9,
     "nodes": [{"id": 3, "type": "KSampler", "mode": 0,
                "inputs": [{"name": "model", "type": "MODEL", "link": 1}, ...],
                "outputs": [{"name": "LATENT", "type": "LATENT", "links": [7]}],
                "widgets_values": [156680208700286, "randomize", 20, 8, "euler", "normal", 1]}],
     "links": [[1, 4, 0, 3, 0, "MODEL"], ...],      # id, from node, from slot, to node, to slot
     ...}

The conversion is the editor's own, done here:
- widget values map to the class's widget inputs in the class's order (`classes.CLASSES`);
  a seed widget is followed by its `control_after_generate` value ("fixed", "randomize", …
  or, in old files, a boolean), which is skipped; values past the known widgets (an upload
  button's) are ignored;
- a widget converted to an input takes its link (a value from a PrimitiveNode is the
  primitive's own value);
- Reroute nodes pass their link through; Note and MarkdownNote nodes are dropped;
- muted nodes (mode 2) are dropped with their links; bypassed nodes (mode 4) pass each
  output through from the input of the same type (the same slot first);
- links are lists or, in newer files, objects.
Node ids stay the user's. Group nodes and subgraphs are not converted yet: such a document,
a node of an unknown class, or a malformed one is refused with issues that say the document
is in ComfyUI's UI format and name the node, its class and the widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphrt.core.errors import Code, Issue, show

from .classes import CLASSES, NodeClass

FORMAT = "ComfyUI UI-format workflow"
SEED_WIDGETS = frozenset({"seed", "noise_seed"})  # INT widgets with a control_after_generate
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize"})
IGNORED = frozenset({"Note", "MarkdownNote"})
MUTED, BYPASSED = 2, 4
MAX_HOPS = 10_000  # reroutes and bypasses followed from one input, at most


def detect(data: dict[str, Any]) -> bool:
    """A UI-format workflow: a list of nodes and a list of links."""
    return isinstance(data.get("nodes"), list) and isinstance(data.get("links"), list)


def class_types(data: dict[str, Any]) -> dict[str, str]:
    """Node id → class of a UI-format workflow's nodes (for messages and errors)."""
    return {str(n["id"]): str(n.get("type")) for n in data.get("nodes") or []
            if isinstance(n, dict) and "id" in n}


@dataclass
class _Node:
    id: str
    type: str
    mode: int
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    widgets: list[Any]
    title: str = ""


@dataclass
class _Graph:
    nodes: dict[str, _Node] = field(default_factory=dict)
    links: dict[str, tuple[str, int]] = field(default_factory=dict)  # link id → source slot


def to_api(data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    """The API-format prompt of a UI-format workflow, or None with the issues that block it."""
    issues: list[Issue] = []
    if (data.get("extra") or {}).get("groupNodes") or (data.get("definitions") or {}).get(
            "subgraphs"):
        issues.append(_issue(Code.UNSUPPORTED_FORMAT, None, "groupNodes / subgraphs",
                             "group nodes and subgraphs are not converted yet; expand them in "
                             "the editor (or export the API format) first"))
    graph = _read(data, issues)
    prompt: dict[str, Any] = {}
    for node in graph.nodes.values():
        if node.type in IGNORED or node.type in ("Reroute", "PrimitiveNode") or node.mode in (
                MUTED, BYPASSED):
            continue
        cls = CLASSES.get(node.type)
        if cls is None:
            issues.append(_issue(Code.UNKNOWN_CLASS, node, "class_type",
                                 f"node {node.id} is of class {node.type!r}, which graphrt "
                                 "does not support"))
            continue
        prompt[node.id] = _api_node(node, cls, graph, issues)
    if issues:
        return None, issues
    return prompt, []


def _read(data: dict[str, Any], issues: list[Issue]) -> _Graph:
    graph = _Graph()
    for raw in data.get("nodes") or []:
        if not isinstance(raw, dict) or "id" not in raw or not isinstance(raw.get("type"), str):
            issues.append(_issue(Code.INVALID_NODE, None, "nodes",
                                 f"a node must be an object with an id and a type, found "
                                 f"{show(raw)}"))
            continue
        node = _Node(str(raw["id"]), raw["type"], _int(raw.get("mode"), 0),
                     _list_of_dicts(raw.get("inputs")), _list_of_dicts(raw.get("outputs")),
                     raw["widgets_values"] if isinstance(raw.get("widgets_values"), list)
                     else [], str(raw.get("title") or ""))
        graph.nodes[node.id] = node
    for raw in data.get("links") or []:
        link = _link(raw)
        if link is None:
            issues.append(_issue(Code.BAD_LINK, None, "links", f"malformed link {show(raw)}"))
            continue
        link_id, source, slot = link
        graph.links[link_id] = (source, slot)
    return graph


def _link(raw: Any) -> tuple[str, str, int] | None:
    """(link id, source node id, source slot) of a link as a list or an object."""
    if isinstance(raw, list) and len(raw) >= 5:
        link_id, source, slot = raw[0], raw[1], raw[2]
    elif isinstance(raw, dict):
        link_id, source, slot = raw.get("id"), raw.get("origin_id"), raw.get("origin_slot")
    else:
        return None
    if link_id is None or source is None or not isinstance(slot, int):
        return None
    return str(link_id), str(source), slot


def _api_node(node: _Node, cls: NodeClass, graph: _Graph,
              issues: list[Issue]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    values, at = node.widgets, 0
    for spec in cls.inputs:
        if spec.is_link:
            continue
        if at < len(values):
            inputs[spec.name] = values[at]
        at += 1
        if spec.name in SEED_WIDGETS and spec.type == "INT" and at < len(values) and \
                _is_control(values[at]):
            at += 1  # the seed's control_after_generate value
    for entry in node.inputs:
        name, link = entry.get("name"), entry.get("link")
        if not isinstance(name, str) or link is None:
            continue
        source = _resolve(graph, str(link), entry.get("type"), issues, node, name)
        if source is None:  # from a muted node: a widget keeps its value, a port is unset
            continue
        if isinstance(source, _Value):
            inputs[name] = source.value
        else:
            inputs[name] = [source[0], source[1]]
    out: dict[str, Any] = {"class_type": node.type, "inputs": inputs}
    if node.title:
        out["_meta"] = {"title": node.title}
    return out


@dataclass(frozen=True)
class _Value:
    """A literal that stands for a link (a PrimitiveNode's value)."""

    value: Any


def _is_control(value: Any) -> bool:
    """A control_after_generate value: one of its strings, or a boolean in old files."""
    return isinstance(value, bool) or (isinstance(value, str) and value in CONTROL_VALUES)


def _resolve(graph: _Graph, link: str, kind: Any, issues: list[Issue], target: _Node,
             name: str) -> tuple[str, int] | _Value | None:
    """The real source of a link: through reroutes and bypassed nodes, to a node's output
    slot or a primitive's value; None when it comes from a muted node or nowhere."""
    for _ in range(MAX_HOPS):
        found = graph.links.get(link)
        if found is None:
            issues.append(_issue(Code.BAD_LINK, target, name,
                                 f"input {name!r} of node {target.id} ({target.type}) uses "
                                 f"link {link}, which the workflow does not define"))
            return None
        source_id, slot = found
        source = graph.nodes.get(source_id)
        if source is None:
            issues.append(_issue(Code.UNKNOWN_NODE, target, name,
                                 f"input {name!r} of node {target.id} links to missing node "
                                 f"{source_id}"))
            return None
        if source.mode == MUTED:
            return None
        if source.type == "PrimitiveNode":
            return _Value(source.widgets[0]) if source.widgets else None
        if source.type == "Reroute" or source.mode == BYPASSED:
            passed = _through(source, slot, kind)
            if passed is None:
                return None
            link = passed
            continue
        return source.id, slot
    issues.append(_issue(Code.BAD_LINK, target, name, "the link loops through reroutes"))
    return None


def _through(node: _Node, slot: int, kind: Any) -> str | None:
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


def _issue(code: Code, node: _Node | None, field: str | None, message: str) -> Issue:
    where = f"{FORMAT}: "
    return Issue(code=code, node=node.id if node else None, field=field,
                 message=where + message,
                 expected=None if node is None else "a class graphrt supports",
                 found=None if node is None else node.type)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
