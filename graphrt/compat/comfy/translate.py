"""ComfyUI API format → native documents.

    {"3": {"class_type": "KSampler", "inputs": {"seed": 5, "model": ["4", 0], ...}}, ...}

Node ids stay as they are ("3"), so events and errors name the user's nodes. A link
`["4", 0]` becomes "4.<port>", the port being output 0 of node 4's class. Widget values
become params under their native names, ComfyUI's defaults filling in missing ones. Output
nodes (SaveImage, PreviewImage) become the document's outputs, named by their node id.
Every problem (unknown class_type, bad link, a link into a widget) is an Issue naming the
node and the input; value checks are left to validation, which names the native param
(`native_field_to_comfy` maps it back).

As ComfyUI validates a prompt output by output, the document skips invalid outputs
(graphrt.core.partial): a problem of one node's inputs (a bad link, a link to a missing
node or into a widget, inputs that are not an object) comes back with the document, as an
issue of that node that leaves out the outputs needing it; an unknown class_type, a value
class that cannot be folded, or a prompt without output nodes refuses the whole prompt.
"""

from __future__ import annotations

import difflib
from typing import Any

from graphrt.compat.comfy.classes import CLASSES, REQUIRED, In, NodeClass
from graphrt.compat.comfy.folding import fold
from graphrt.core.errors import Code, Issue, show

FORMAT_NAME = "comfyui-api"


def detect(data: dict[str, Any]) -> bool:
    """An object whose values are all objects with a class_type."""
    return bool(data) and all(isinstance(v, dict) and "class_type" in v for v in data.values())


def translate(data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Translate a ComfyUI API-format prompt; returns (native document or None, issues)."""
    data, issues = fold(data)  # classes worked out while translating (compat/comfy/folding)
    if issues:
        return None, issues
    classes: dict[str, NodeClass] = {}
    for node_id, raw in data.items():
        cls = _node_class(str(node_id), raw, issues)
        if cls is not None:
            classes[str(node_id)] = cls
    nodes: dict[str, Any] = {}
    outputs: dict[str, str] = {}
    for node_id, raw in data.items():
        node_id = str(node_id)
        cls = classes.get(node_id)
        if cls is None:
            continue
        nodes[node_id] = _node(node_id, raw, cls, data, classes, issues)
        if cls.output_node:
            outputs[node_id] = f"{node_id}.images"
    if not outputs and not issues:
        issues.append(Issue(code=Code.NO_OUTPUTS, field="outputs", message=(
            "the prompt has no output node (SaveImage or PreviewImage)"),
            expected="at least one output node", found="none"))
    if not outputs or any(i.code in _PROMPT_CODES for i in issues):
        return None, issues
    return {"format": "graphrt/1", "nodes": nodes, "outputs": outputs,
            "skip_invalid_outputs": True}, issues  # issues of nodes: see the module


_PROMPT_CODES = (Code.UNKNOWN_CLASS, Code.NO_OUTPUTS)  # problems that refuse the whole prompt


def _node_class(node_id: str, raw: Any, issues: list[Issue]) -> NodeClass | None:
    class_type = raw.get("class_type") if isinstance(raw, dict) else None
    cls = CLASSES.get(class_type) if isinstance(class_type, str) else None
    if cls is None:
        hint = difflib.get_close_matches(str(class_type), CLASSES, n=1)
        issues.append(Issue(code=Code.UNKNOWN_CLASS, node=node_id, field="class_type",
                            message=f"unsupported class_type {class_type!r}"
                            + (f"; did you mean {hint[0]!r}?" if hint else ""),
                            expected="one of " + ", ".join(sorted(CLASSES)),
                            found=show(class_type)))
        return None
    if not isinstance(raw.get("inputs", {}), dict):  # the node's problem, read as no inputs
        issues.append(Issue(code=Code.INVALID_NODE, node=node_id, field="inputs",
                            message="'inputs' must be an object", expected="object",
                            found=show(raw.get("inputs"))))
    return cls


def _node(node_id: str, raw: dict[str, Any], cls: NodeClass, data: dict[str, Any],
          classes: dict[str, NodeClass], issues: list[Issue]) -> dict[str, Any]:
    inputs = raw.get("inputs")
    given: dict[str, Any] = inputs if isinstance(inputs, dict) else {}
    params: dict[str, Any] = dict(cls.fixed)
    links: dict[str, Any] = {}
    for spec in cls.inputs:
        value = given.get(spec.name, REQUIRED)
        if spec.is_link:
            if value is REQUIRED:
                continue  # validation reports a missing required input
            ref = _link(node_id, spec, value, data, classes, issues)
            if ref is None:
                continue
            if cls.is_variadic(spec.to):  # one port fed by several inputs, in order
                links.setdefault(spec.to, []).append(ref)
            else:
                links[spec.to] = ref
            continue
        if value is REQUIRED:
            value = spec.default
        if value is REQUIRED:
            continue  # the op's own default applies, or validation says it is required
        if _is_link(value) and spec.link:  # a converted widget fed by a node's output
            ref = _link(node_id, spec, value, data, classes, issues)
            if ref is not None:
                links[spec.link] = ref
            continue
        if _is_link(value):
            issues.append(Issue(code=Code.LINK_TO_WIDGET, node=node_id, field=spec.name, message=(
                f"input {spec.name!r} is a {spec.type} value; links into widgets are not "
                "supported"), expected=spec.type, found=show(value)))
            continue
        params[spec.to] = spec.convert(value) if spec.convert else value
    node: dict[str, Any] = {"op": cls.op, "in": links, "params": params}
    title = (raw.get("_meta") or {}).get("title") if isinstance(raw.get("_meta"), dict) else None
    if isinstance(title, str):
        node["title"] = title
    return node


def _is_link(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)
            and isinstance(value[1], int) and not isinstance(value[1], bool))


def _link(node_id: str, spec: In, value: Any, data: dict[str, Any],
          classes: dict[str, NodeClass], issues: list[Issue]) -> str | None:
    """"src.port" for a link [src, index], or None with an issue."""
    where = {"node": node_id, "field": spec.name}
    if not _is_link(value):
        issues.append(Issue(code=Code.BAD_LINK, **where, message=(
            f"input {spec.name!r} takes a link [node_id, output_index]"),
            expected=f"a link to a {spec.type} output", found=show(value)))
        return None
    src, index = str(value[0]), value[1]
    if src not in data:
        issues.append(Issue(code=Code.UNKNOWN_NODE, **where,
                            message=f"input {spec.name!r} links to missing node {src!r}",
                            expected="an existing node id", found=show(value)))
        return None
    src_cls = classes.get(src)
    if src_cls is None:
        return None  # the source's class_type is reported on the source node
    if not 0 <= index < len(src_cls.outputs):
        issues.append(Issue(code=Code.BAD_LINK, **where, message=(
            f"node {src!r} has no output {index}"),
            expected=f"an index below {len(src_cls.outputs)}", found=show(value)))
        return None
    return f"{src}.{src_cls.outputs[index][1]}"


def native_field_to_comfy(class_type: str | None, field: str | None) -> str | None:
    """The ComfyUI input name for an issue's native field ("params.sampler" → "sampler_name")."""
    if field is None:
        return None
    cls = CLASSES.get(class_type or "")
    kind, _, rest = field.partition(".")
    widgets = [i.name for i in cls.inputs if not i.is_link] if cls else []
    if kind == "params" and not rest and len(widgets) == 1:
        return widgets[0]  # a node-level params problem (a missing file) of a one-widget class
    if cls is None or kind not in ("params", "in") or not rest:
        return field
    name = rest.split(".", 1)[0]
    return cls.comfy_name(name) or name
