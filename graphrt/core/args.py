"""Graph args and overrides: command-line strings coerced to declared types, {"arg": NAME}
references resolved in params, and "node.param=value" overrides split by node."""

from __future__ import annotations

import difflib
import json
from typing import Any

from .document import ARG_TYPES, GraphDoc
from .errors import Code, Issue, show

BAD: Any = object()  # the value of an arg that is itself reported as invalid or missing


def resolve_args(doc: GraphDoc, given: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    """Values for the graph's args: given ones coerced to their types, else defaults."""
    values: dict[str, Any] = {}
    for name in given:
        if name not in doc.args:
            hint = difflib.get_close_matches(name, doc.args, n=1)
            issues.append(Issue(code=Code.UNKNOWN_ARG, field=f"args.{name}",
                                message=f"the graph has no arg {name!r}"
                                + (f"; did you mean {hint[0]!r}?" if hint else ""),
                                expected=", ".join(doc.args) or "no args", found=name))
    for name, spec in doc.args.items():
        if name in given:
            try:
                values[name] = coerce_arg(spec.type, given[name])
            except (TypeError, ValueError) as exc:
                issues.append(Issue(code=Code.INVALID_ARG, field=f"args.{name}", message=str(exc),
                                    expected=spec.type, found=show(given[name])))
                values[name] = BAD
        elif spec.required and spec.default is None:
            issues.append(Issue(code=Code.MISSING_ARG, field=f"args.{name}",
                                message=f"arg {name!r} is required", expected=spec.type,
                                found="nothing"))
            values[name] = BAD
        else:
            values[name] = spec.default
    return values


def coerce_arg(kind: str, value: Any) -> Any:
    """Coerce an arg value (possibly a command-line string) to its declared type."""
    if kind == "json":
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean, found {value!r}")
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError(f"expected a string, found {type(value).__name__}")
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected {kind}, found a boolean")
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, found {value!r}")
        return int(value)
    result = ARG_TYPES[kind](value)
    return result


def parse_override(text: str) -> tuple[str, Any]:
    """Parse "node.param=value" (value as JSON when it parses, else a string)."""
    target, eq, raw = text.partition("=")
    if not eq or "." not in target:
        raise ValueError(f"expected NODE.PARAM=VALUE, found {text!r}")
    try:
        return target, json.loads(raw)
    except json.JSONDecodeError:
        return target, raw


def split_overrides(
    doc: GraphDoc, overrides: dict[str, Any], issues: list[Issue]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for target, value in overrides.items():
        node, _, param = target.partition(".")
        if node not in doc.nodes:
            issues.append(Issue(code=Code.UNKNOWN_NODE, node=node, field=f"params.{param}",
                                message=f"--set names node {node!r}, which is not in the graph",
                                expected=", ".join(list(doc.nodes)[:10]), found=node))
            continue
        out.setdefault(node, {})[param] = value
    return out


def resolve_refs(
    value: Any, args: dict[str, Any], node: str, param: str, issues: list[Issue]
) -> Any:
    """Replace {"arg": NAME} by the arg's value (also inside lists and dicts)."""
    if isinstance(value, dict):
        if set(value) == {"arg"}:
            name = value["arg"]
            if not isinstance(name, str) or name not in args:
                issues.append(Issue(code=Code.UNKNOWN_ARG, node=node, field=f"params.{param}",
                                    message=f"param refers to undeclared arg {name!r}",
                                    expected=", ".join(args) or "a declared arg",
                                    found=show(name)))
                return BAD
            return args[name]
        return {k: resolve_refs(v, args, node, param, issues) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, args, node, param, issues) for v in value]
    return value
