"""graphrt Issues → ComfyUI's error body: {"error": {...}, "node_errors": {id: {...}}}.

    {"error": {"type": "prompt_outputs_failed_validation", "message": ..., "details": ...,
               "extra_info": {}},
     "node_errors": {"3": {"errors": [{"type": "value_bigger_than_max", "message": ...,
                                       "details": "steps: ...", "extra_info": {...}}],
                           "dependent_outputs": ["9"], "class_type": "KSampler"}}}

A prompt accepted without the outputs that failed gets `dropped_node_errors` (ComfyUI's 200
with `node_errors`). Input names are the user's: for ComfyUI documents the native field
("params.sampler") is mapped back to the ComfyUI input name ("sampler_name"). An issue of a
node a macro built is reported on the node the user wrote (`Issue.source`). Error types
come from issue codes, never from message text. Bodies name files relative to their folder:
a host passes its folders as `roots` ({"models": Path(...)}), and every absolute path of one
is written as its name ("<models>/checkpoints/x.safetensors"), so no client learns the
server's layout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from graphrt.compat.comfy.classes import is_output_class
from graphrt.compat.comfy.translate import native_field_to_comfy
from graphrt.core.errors import Code, Issue

T = TypeVar("T")

_TYPES = {Code.MISSING_INPUT: "required_input_missing", Code.BAD_LINK: "bad_linked_input",
          Code.UNKNOWN_NODE: "bad_linked_input", Code.UNKNOWN_OUTPUT_PORT: "bad_linked_input",
          Code.TYPE_MISMATCH: "return_type_mismatch", Code.LINK_TO_WIDGET: "bad_linked_input",
          Code.UNKNOWN_CLASS: "invalid_class_type", Code.UNSAFE_PATH: "value_not_in_list",
          Code.LIMIT_EXCEEDED: "value_bigger_than_max", Code.UNKNOWN_PARAM: "invalid_input",
          Code.MISSING_PARAM: "required_input_missing",
          Code.PARAM_ABOVE_MAX: "value_bigger_than_max",
          Code.PARAM_BELOW_MIN: "value_smaller_than_min",
          Code.PARAM_NOT_IN_CHOICES: "value_not_in_list",
          Code.PARAM_WRONG_TYPE: "invalid_input_type", Code.INVALID_PARAM: "invalid_input_type"}


def comfy_type(issue: Issue) -> str:
    """ComfyUI's error type for an issue's code."""
    return _TYPES.get(issue.code, issue.code.value)


def error_body(issues: list[Issue], prompt: dict[str, Any], class_types: dict[str, str],
               comfy: bool, roots: Mapping[str, Path] | None = None) -> dict[str, Any]:
    """The 400 body for a prompt that failed translation or validation."""
    node_errors: dict[str, Any] = {}
    general: list[Issue] = []
    dependents = _dependent_outputs(prompt, comfy)
    for issue in issues:
        node = issue.source or issue.node
        if node is None or node not in class_types:
            general.append(issue)
            continue
        entry = node_errors.setdefault(node, {"errors": [], "class_type": class_types[node],
                                              "dependent_outputs": dependents.get(node, [])})
        entry["errors"].append(_error(issue, class_types[node], comfy))
    unknown = [i for i in issues if i.code is Code.UNKNOWN_CLASS]
    if unknown:
        first = unknown[0]
        error = {"type": "invalid_prompt",
                 "message": f"Cannot execute because node {class_types.get(first.node or '')}"
                 " does not exist.", "details": f"Node ID '#{first.node}'", "extra_info": {}}
    elif node_errors:
        error = {"type": "prompt_outputs_failed_validation",
                 "message": "Prompt outputs failed validation", "details": "", "extra_info": {}}
    else:
        error = {"type": general[0].code.value if general else "invalid_prompt",
                 "message": general[0].message if general else "invalid prompt",
                 "details": "; ".join(str(i) for i in general), "extra_info": {}}
    if general:
        error["extra_info"] = {"issues": [i.model_dump(mode="json") for i in general]}
    return redact({"error": error, "node_errors": node_errors}, roots or {})


def dropped_node_errors(dropped: Mapping[str, list[Issue]], prompt: dict[str, Any],
                        class_types: dict[str, str], comfy: bool,
                        roots: Mapping[str, Path] | None = None) -> dict[str, Any]:
    """The `node_errors` of a prompt accepted without some outputs (the plan's
    `dropped_outputs`), as ComfyUI answers them: each node with issues, its errors, and the
    left-out outputs (output node ids) that depend on it."""
    outs = prompt.get("outputs") if not comfy else None
    node_errors: dict[str, Any] = {}
    for output, issues in dropped.items():
        target = output if not isinstance(outs, dict) else str(
            outs.get(output, output)).rpartition(".")[0] or output
        for issue in issues:
            node = issue.source or issue.node or ""
            class_type = class_types.get(node, "")
            entry = node_errors.setdefault(node, {"errors": [], "dependent_outputs": [],
                                                  "class_type": class_type})
            error = _error(issue, class_type, comfy)
            if error not in entry["errors"]:
                entry["errors"].append(error)
            if target not in entry["dependent_outputs"]:
                entry["dependent_outputs"].append(target)
    for entry in node_errors.values():  # a link the translation refused is also missing
        named = {e["extra_info"]["input_name"] for e in entry["errors"]
                 if e["type"] != "required_input_missing"}
        entry["errors"] = [e for e in entry["errors"] if e["type"] != "required_input_missing"
                           or e["extra_info"]["input_name"] not in named]
    return redact(node_errors, roots or {})


def _error(issue: Issue, class_type: str, comfy: bool) -> dict[str, Any]:
    """One entry of a node's `errors`, its input named as the user's document names it."""
    name = native_field_to_comfy(class_type, issue.field) if comfy else issue.field
    return {"type": comfy_type(issue), "message": issue.message,
            "details": f"{name}: {issue.message}" if name else issue.message,
            "extra_info": {"input_name": name, "expected": issue.expected,
                           "received_value": issue.found, "code": issue.code.value}}


def relative_paths(text: str, roots: Mapping[str, Path]) -> str:
    """`text` with the absolute path of each root folder written as "<name>"."""
    for name, form in _forms(roots):
        text = text.replace(form, f"<{name}>")
    return text


def redact(body: T, roots: Mapping[str, Path]) -> T:
    """A JSON body with `relative_paths` applied to every string in it."""
    forms = _forms(roots)
    if not forms:
        return body
    text = json.dumps(body)
    for name, form in forms:
        text = text.replace(json.dumps(form)[1:-1], f"<{name}>")
    result: T = json.loads(text)
    return result


def _forms(roots: Mapping[str, Path]) -> list[tuple[str, str]]:
    """(name, absolute path) for every root as given and resolved, longest paths first."""
    forms = set()
    for name, root in roots.items():
        for path in (root.expanduser().absolute(), root.expanduser().resolve()):
            if len(path.parts) > 1:  # never "/" itself
                forms.add((name, str(path)))
    return sorted(forms, key=lambda f: -len(f[1]))


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
            if isinstance(raw, dict) and is_output_class(raw.get("class_type")):
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
