"""Group nodes (the old editor's `extra.groupNodes`) read as `Template`s, with the editor's
own rules for what the group node shows (docs/comfyui-workflows.md).

A definition lists its inner nodes (by index, in execution order), its inner links as
`[from index, from slot, to index, to slot, original id, type]` (from index null: a link from
outside), `external` outputs used outside, and `config` renames. An instance's class is
`workflow>NAME` (`workflow/NAME` before frontend 1.2.63). The group node's inputs and widgets
are built node by node: each inner node's widgets (class order) not converted to inputs,
then its link inputs with no inner link into them; after every node, the widgets converted
to inputs with no inner link. A name already taken gets the inner node's title (or class) as
a prefix; `seed`/`noise_seed` widgets are followed by their control_after_generate value; an
inner PrimitiveNode that feeds an inner node shows its value (and its control value). An
inner Reroute linked both ways inside the group shows nothing. Outputs are every inner
output with no inner link, or used outside. Inner nodes get the ids `<instance>:<index>`.
"""

from __future__ import annotations

from typing import Any

from graphrt.core.errors import Issue

from .classes import any_class
from .ui_expand import Boundary, FromInput, FromNode, Template
from .ui_graph import has_control, link_specs, list_of_dicts, read_node, widget_specs

PREFIXES = ("workflow>", "workflow/")
VIRTUAL = frozenset({"Note", "MarkdownNote"})
Link = tuple[int, int]  # (inner index, slot)


def group_templates(data: dict[str, Any], issues: list[Issue]) -> dict[str, Template]:
    """Instance class (both spellings) → template, for every group node the document
    defines."""
    defs = (data.get("extra") or {}).get("groupNodes") if isinstance(data.get("extra"),
                                                                     dict) else None
    out: dict[str, Template] = {}
    for name, definition in (defs or {}).items() if isinstance(defs, dict) else ():
        if isinstance(definition, dict):
            template = _Builder(str(name), definition, issues).build()
            out.update({prefix + str(name): template for prefix in PREFIXES})
    return out


class _Builder:
    def __init__(self, name: str, definition: dict[str, Any], issues: list[Issue]) -> None:
        self.t = Template(f"group node {name!r}")
        raws = [n for n in definition.get("nodes") or [] if isinstance(n, dict)]
        self.raws = [{**raw, "id": i} for i, raw in enumerate(raws)]
        for raw in self.raws:
            node = read_node(raw, issues, f" (in group node {name!r})")
            if node is not None:
                node.inputs = [{**e, "link": None} for e in node.inputs]
                self.t.nodes.append(node)
        self.config: dict[str, Any] = definition["config"] if isinstance(
            definition.get("config"), dict) else {}
        self.links_to: dict[Link, Link] = {}
        self.links_from: dict[Link, list[Link]] = {}
        self.first_link_type: dict[int, str] = {}
        for raw in definition.get("links") or []:
            if not (isinstance(raw, list) and len(raw) >= 4 and all(
                    isinstance(v, int) for v in raw[1:4])):
                continue
            if len(raw) > 5 and isinstance(raw[2], int):
                self.first_link_type.setdefault(raw[2], str(raw[5]))
            if not isinstance(raw[0], int):
                continue  # a link from outside the group
            self.links_to[(raw[2], raw[3])] = (raw[0], raw[1])
            self.links_from.setdefault((raw[0], raw[1]), []).append((raw[2], raw[3]))
        self.external: dict[Link, str] = {
            (e[0], e[1]): str(e[2]) for e in definition.get("external") or []
            if isinstance(e, list) and len(e) >= 3 and isinstance(e[0], int)}
        self.seen: dict[str, int] = {}

    def build(self) -> Template:
        converted: list[tuple[int, list[tuple[int, str]], int]] = []
        for node in self.t.nodes:
            i = int(node.id)
            spec = self._def(i)
            if spec is None:
                continue
            widgets, slots, outputs = spec
            conv = [(c, e["name"]) for c, e in enumerate(node.inputs)
                    if (e.get("widget") or {}).get("name") == e.get("name")
                    and e.get("name") in dict(widgets)]
            for name, wtype in widgets:
                if name not in {n for _, n in conv}:
                    self._widget(i, name, has_control(name, wtype) or (
                        node.type == "PrimitiveNode"))
            for j, (name, _) in enumerate(slots):
                if (i, j) in self.links_to:
                    continue
                label = self._name(i, name)
                if self._input_config(i, name).get("visible") is False:
                    continue
                self._bind(i, j, len(self.t.inputs))
                self.t.inputs.append(Boundary(label))
            converted.append((i, conv, len(slots)))
            for o in range(len(outputs)):
                inner = bool(self.links_from.get((i, o))) and (i, o) not in self.external
                shown = ((self.config.get(str(i)) or {}).get("output") or {}).get(str(o), {})
                if shown.get("visible", not inner):
                    self.t.outputs.append(FromNode(str(i), o))
        for i, conv, first in converted:
            for k, (entry, name) in enumerate(conv):
                if (i, first + k) not in self.links_to:
                    self._widget(i, name, False, entry)
        for (i, j), (src, slot) in self.links_to.items():
            node = self._node(i)
            if node is not None and j < len(node.inputs):
                node.inputs[j]["link"] = f"i{i}.{j}"
                self.t.links[f"i{i}.{j}"] = FromNode(str(src), slot)
        return self.t

    def _def(self, i: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]],
                                    list[str]] | None:
        """(widgets, link inputs, outputs) the editor gives inner node i; None: it shows
        nothing."""
        node = self._node(i)
        assert node is not None
        cls = any_class(node.type)
        if cls is not None:
            return widget_specs(cls), link_specs(cls), [t for t, _ in cls.outputs]
        outgoing = self.links_from.get((i, 0))
        if node.type == "PrimitiveNode":
            if not outgoing:
                return None
            kind = str((node.outputs[0] if node.outputs else {}).get("type") or "*")
            return [("value", kind)], [], [kind]
        if node.type == "Reroute":
            if self.links_to.get((i, 0)) and outgoing and (i, 0) not in self.external:
                return None  # used inside the group only
            kind = self._reroute_type(i)
            return [], [(kind, kind)], [kind]
        if node.type not in VIRTUAL:
            self.t.missing.append(node)
        return None

    def _reroute_type(self, i: int) -> str:
        for target, slot in self.links_from.get((i, 0)) or []:
            entry = self._entry(target, slot)
            if entry and entry.get("type") not in (None, "*"):
                return str(entry["type"])
        source = self.links_to.get((i, 0))
        if source is not None:
            node = self._node(source[0])
            if node is not None and source[1] < len(node.outputs):
                return str(node.outputs[source[1]].get("type"))
        return self.first_link_type.get(i) or self.external.get((i, 0)) or "*"

    def _widget(self, i: int, name: str, control: bool, entry: int | None = None) -> None:
        k = len(self.t.inputs)
        self.t.inputs.append(Boundary(self._name(i, name), widget=True, control=control))
        self.t.widget_order.append(k)
        node = self._node(i)
        assert node is not None
        if node.type == "PrimitiveNode":
            self.t.primitives[k] = node.id
            return
        if entry is None:
            entry = next((c for c, e in enumerate(node.inputs) if e.get("name") == name), None)
        if entry is None:
            node.inputs.append({"name": name, "type": "*", "link": None,
                                "widget": {"name": name}})
            entry = len(node.inputs) - 1
        self._bind(i, entry, k)

    def _bind(self, i: int, entry: int, k: int) -> None:
        node = self._node(i)
        if node is not None and entry < len(node.inputs):
            node.inputs[entry]["link"] = f"b{k}"
            self.t.links[f"b{k}"] = FromInput(k)

    def _name(self, i: int, name: str) -> str:
        """The group node's name for inner node i's input `name` (the editor's renames and
        de-duplication)."""
        raw = self.raws[i]
        label = self._input_config(i, name).get("name") or next(
            (e.get("label") for e in list_of_dicts(raw.get("inputs"))
             if e.get("name") == name and e.get("label")), None) or name
        key = label
        if (raw.get("type") == "PrimitiveNode" and raw.get("title")) or label in self.seen:
            prefix = f"{raw.get('title') or raw.get('type')} "
            key = label = f"{prefix}{name}"
            if label in self.seen:
                label = f"{prefix}{self.seen[label]} {name}"
        self.seen[key] = self.seen.get(key, 1) + 1
        return str(label)

    def _input_config(self, i: int, name: str) -> dict[str, Any]:
        found = ((self.config.get(str(i)) or {}).get("input") or {}).get(name)
        return found if isinstance(found, dict) else {}

    def _node(self, i: int) -> Any:
        return next((n for n in self.t.nodes if n.id == str(i)), None)

    def _entry(self, i: int, slot: int) -> dict[str, Any] | None:
        node = self._node(i)
        return node.inputs[slot] if node is not None and slot < len(node.inputs) else None
