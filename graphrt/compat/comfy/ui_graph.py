"""The UI-format document as the converter sees it: nodes, and links as where a value comes
from (docs/comfyui-workflows.md).

A UI file's own graph is read as it is: node ids and link ids as strings. Group nodes and
subgraphs are read as `Template`s (graphrt.compat.comfy.ui_groups, ui_subgraphs) and their
instances replaced by the template's nodes (ui_expand), under ComfyUI's ids (`outer:inner`).
A link then carries what it says: a node's output slot, a literal `Value` (a widget value of
a group or subgraph instance), an `Alias` for another link (through a group or subgraph
boundary), or nothing (`None`: an unconnected boundary input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphrt.core.errors import Code, Issue, show

from .classes import NodeClass

FORMAT = "ComfyUI UI-format workflow"
SEED_WIDGETS = frozenset({"seed", "noise_seed"})  # INT widgets with a control_after_generate
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize"})
MUTED, BYPASSED = 2, 4


@dataclass
class UiNode:
    id: str
    type: str
    mode: int
    inputs: list[dict[str, Any]]  # {"name", "type", "link": link id or None, "widget"?}
    outputs: list[dict[str, Any]]
    widgets: list[Any]
    title: str = ""
    where: str = ""  # " (in group node 'X', node 37)" for nodes taken from a template
    sr_name: str = ""  # properties["Node name for S&R"], which text replacements look up


@dataclass(frozen=True)
class Value:
    """A literal that stands for a link (a PrimitiveNode's or an instance widget's value)."""

    value: Any


@dataclass(frozen=True)
class Alias:
    """A link that carries what another link carries (across a group or subgraph boundary)."""

    link: str


Source = tuple[str, int] | Value | Alias | None  # None: nothing arrives


@dataclass
class UiGraph:
    nodes: dict[str, UiNode] = field(default_factory=dict)
    links: dict[str, Source] = field(default_factory=dict)


def is_control(value: Any) -> bool:
    """A control_after_generate value: one of its strings, or a boolean in old files."""
    return isinstance(value, bool) or (isinstance(value, str) and value in CONTROL_VALUES)


def has_control(spec_name: str, spec_type: str) -> bool:
    """Whether the editor puts a control_after_generate widget after this widget."""
    return spec_name in SEED_WIDGETS and spec_type == "INT"


def widget_specs(cls: NodeClass) -> list[tuple[str, str]]:
    """(name, type) of a class's widgets in the editor's order: required, then optional."""
    ordered = [i for i in cls.inputs if not i.optional] + [i for i in cls.inputs if i.optional]
    return [(i.name, i.type) for i in ordered if not i.is_link]


def link_specs(cls: NodeClass) -> list[tuple[str, str]]:
    """(name, type) of a class's link inputs in the editor's order."""
    ordered = [i for i in cls.inputs if not i.optional] + [i for i in cls.inputs if i.optional]
    return [(i.name, i.type) for i in ordered if i.is_link]


def read_node(raw: Any, issues: list[Issue], where: str = "") -> UiNode | None:
    """A node of a (sub)graph, its ids and link ids as strings; None (with an issue) when it
    has no id or type."""
    if not isinstance(raw, dict) or raw.get("id") is None or not isinstance(raw.get("type"),
                                                                             str):
        issues.append(issue(Code.INVALID_NODE, None, "nodes", "a node must be an object with "
                            f"an id and a type, found {show(raw)}{where}"))
        return None
    inputs = []
    for entry in list_of_dicts(raw.get("inputs")):
        entry = dict(entry)
        if entry.get("link") is not None:
            entry["link"] = str(entry["link"])
        inputs.append(entry)
    properties: dict[str, Any] = raw["properties"] if isinstance(raw.get("properties"),
                                                                 dict) else {}
    return UiNode(str(raw["id"]), raw["type"], as_int(raw.get("mode"), 0), inputs,
                  list_of_dicts(raw.get("outputs")),
                  list(raw["widgets_values"]) if isinstance(raw.get("widgets_values"), list)
                  else [], str(raw.get("title") or ""), where,
                  str(properties.get("Node name for S&R") or ""))


def read_links(raw: Any, issues: list[Issue]) -> dict[str, tuple[str, int, str, int]]:
    """link id → (origin id, origin slot, target id, target slot) of a list of links (lists
    or objects) or an object of them (keyed by id)."""
    items = list(raw.values()) if isinstance(raw, dict) else raw if isinstance(raw, list) \
        else []
    links: dict[str, tuple[str, int, str, int]] = {}
    for item in items:
        link = parse_link(item)
        if link is None:
            issues.append(issue(Code.BAD_LINK, None, "links", f"malformed link {show(item)}"))
            continue
        links[link[0]] = link[1:]
    return links


def parse_link(raw: Any) -> tuple[str, str, int, str, int] | None:
    """(id, origin, origin slot, target, target slot) of a link as a list or an object."""
    if isinstance(raw, list) and len(raw) >= 5:
        link_id, origin, slot, target, target_slot = raw[:5]
    elif isinstance(raw, dict):
        link_id, origin, slot = raw.get("id"), raw.get("origin_id"), raw.get("origin_slot")
        target, target_slot = raw.get("target_id"), raw.get("target_slot")
    else:
        return None
    if link_id is None or origin is None or not isinstance(slot, int):
        return None
    return (str(link_id), str(origin), slot, str(target),
            target_slot if isinstance(target_slot, int) else -1)


def read_graph(data: dict[str, Any], issues: list[Issue]) -> UiGraph:
    """The document's own graph (group and subgraph instances still in it)."""
    graph = UiGraph()
    for raw in data.get("nodes") or []:
        node = read_node(raw, issues)
        if node is not None:
            graph.nodes[node.id] = node
    for link_id, (origin, slot, _, _) in read_links(data.get("links"), issues).items():
        graph.links[link_id] = (origin, slot)
    return graph


def issue(code: Code, node: UiNode | None, field: str | None, message: str,
          found: str | None = None) -> Issue:
    """An issue that says the document is ComfyUI's UI format and names the node and class."""
    return Issue(code=code, node=node.id if node else None, field=field,
                 message=f"{FORMAT}: {message}",
                 expected=None if node is None else "a class graphrt supports",
                 found=found if found is not None else None if node is None else node.type)


def as_int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
