"""graphrt Issues → ComfyUI's error body: {"error": {...}, "node_errors": {id: {...}}}.

    {"error": {"type": "prompt_outputs_failed_validation", "message": ..., "details": ...,
               "extra_info": {}},
     "node_errors": {"3": {"errors": [{"type": "value_bigger_than_max", "message": ...,
                                       "details": "steps: ...", "extra_info": {...}}],
                           "dependent_outputs": ["9"], "class_type": "KSampler"}}}

Input names are the user's: for ComfyUI documents the native field ("params.sampler") is
mapped back to the ComfyUI input name ("sampler_name").
"""

from __future__ import annotations

from typing import Any

from ..errors import Issue
from ..formats.comfy import native_field_to_comfy
from .messages import top

_TYPES = {"missing_input": "required_input_missing", "bad_link": "bad_linked_input",
          "unknown_node": "bad_linked_input", "unknown_output_port": "bad_linked_input",
          "type_mismatch": "return_type_mismatch", "link_to_widget": "bad_linked_input",
          "unsupported_class_type": "invalid_class_type", "unsafe_path": "value_not_in_list",
          "limit_exceeded": "value_bigger_than_max", "unknown_param": "invalid_input"}


def comfy_type(issue: Issue) -> str:
    """ComfyUI's error type for an issue."""
    if issue.code == "invalid_param":
        msg = issue.message.lower()
        if "field required" in msg:
            return "required_input_missing"
        if "less than" in msg:
            return "value_bigger_than_max"
        if "greater than" in msg:
            return "value_smaller_than_min"
        if msg.startswith("input should be '"):
            return "value_not_in_list"
        return "invalid_input_type"
    return _TYPES.get(issue.code, issue.code)


def error_body(issues: list[Issue], prompt: dict[str, Any], class_types: dict[str, str],
               comfy: bool) -> dict[str, Any]:
    """The 400 body for a prompt that failed translation or validation."""
    node_errors: dict[str, Any] = {}
    general: list[Issue] = []
    dependents = _dependent_outputs(prompt, comfy)
    for issue in issues:
        node = top(issue.node) if issue.node else None
        if node is None or node not in class_types:
            general.append(issue)
            continue
        class_type = class_types[node]
        name = native_field_to_comfy(class_type, issue.field) if comfy else issue.field
        entry = node_errors.setdefault(node, {"errors": [], "class_type": class_type,
                                              "dependent_outputs": dependents.get(node, [])})
        entry["errors"].append({
            "type": comfy_type(issue), "message": issue.message,
            "details": f"{name}: {issue.message}" if name else issue.message,
            "extra_info": {"input_name": name, "expected": issue.expected,
                           "received_value": issue.found, "code": issue.code}})
    unknown = [i for i in issues if i.code == "unsupported_class_type"]
    if unknown:
        first = unknown[0]
        error = {"type": "invalid_prompt",
                 "message": f"Cannot execute because node {class_types.get(first.node or '')}"
                 " does not exist.", "details": f"Node ID '#{first.node}'", "extra_info": {}}
    elif node_errors:
        error = {"type": "prompt_outputs_failed_validation",
                 "message": "Prompt outputs failed validation", "details": "", "extra_info": {}}
    else:
        error = {"type": general[0].code if general else "invalid_prompt",
                 "message": general[0].message if general else "invalid prompt",
                 "details": "; ".join(str(i) for i in general), "extra_info": {}}
    if general:
        error["extra_info"] = {"issues": [i.model_dump() for i in general]}
    return {"error": error, "node_errors": node_errors}


def simple_error(kind: str, message: str, details: str = "") -> dict[str, Any]:
    """An error body with no node errors (bad JSON, no prompt, queue full)."""
    return {"error": {"type": kind, "message": message, "details": details, "extra_info": {}},
            "node_errors": {}}


def _dependent_outputs(prompt: dict[str, Any], comfy: bool) -> dict[str, list[str]]:
    """Node id → the output nodes that depend on it."""
    edges: dict[str, set[str]] = {}  # node → its direct sources
    outputs: list[str] = []
    if comfy:
        for node, raw in prompt.items():
            inputs = raw.get("inputs") if isinstance(raw, dict) else None
            for value in (inputs or {}).values() if isinstance(inputs, dict) else ():
                if isinstance(value, list) and len(value) == 2:
                    edges.setdefault(str(node), set()).add(str(value[0]))
            if isinstance(raw, dict) and raw.get("class_type") in ("SaveImage", "PreviewImage"):
                outputs.append(str(node))
    else:
        for node, raw in (prompt.get("nodes") or {}).items():
            links = raw.get("in") if isinstance(raw, dict) else None
            for value in (links or {}).values() if isinstance(links, dict) else ():
                for text in value if isinstance(value, list) else [value]:
                    edges.setdefault(str(node), set()).add(str(text).rpartition(".")[0])
        outs = prompt.get("outputs")
        outputs = [str(v).rpartition(".")[0] for v in (outs or {}).values()] \
            if isinstance(outs, dict) else []
    result: dict[str, list[str]] = {}
    for out in outputs:
        seen, stack = set(), [out]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            result.setdefault(node, []).append(out)
            stack.extend(edges.get(node, ()))
    return result
