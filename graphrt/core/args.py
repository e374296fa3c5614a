"""Graph args and overrides: command-line strings coerced to declared types, {"arg": NAME}
references resolved in params, and "node.param=value" overrides split by node.

Every value a user hands in (params, arg values and defaults, overrides) is walked without
recursion, and one nested deeper than `MAX_NESTING` is an issue (`Code.TOO_DEEP`), so no
later step (checking, hashing, embedding) meets a value it cannot handle. Every failed
coercion, overflow included, is an issue (`Code.INVALID_ARG`), never an exception.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import Any

from .document import ARG_TYPES, GraphDoc
from .errors import Code, Issue, show
from .hashing import MAX_DEPTH

BAD: Any = object()  # the value of an arg that is itself reported as invalid or missing
MAX_NESTING = MAX_DEPTH - 1
"""How deeply a value may nest lists and objects: a param's value sits one level inside
the params map, which hashing keys up to MAX_DEPTH levels deep."""


def nesting(value: Any, limit: int = MAX_NESTING) -> int:
    """How deeply `value` nests lists, tuples and objects (0 for a scalar), without
    recursion; the count stops at the first container deeper than `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def too_deep(field: str, node: str | None = None) -> Issue:
    return Issue(code=Code.TOO_DEEP, node=node, field=field,
                 message=f"lists and objects nested deeper than {MAX_NESTING} levels",
                 expected=f"at most {MAX_NESTING} levels", found=f"more than {MAX_NESTING}")


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
        if nesting(spec.default) > MAX_NESTING:
            issues.append(too_deep(f"args.{name}.default"))
            values[name] = BAD
        elif name in given:
            try:
                values[name] = coerce_arg(spec.type, given[name])
            except (TypeError, ValueError, ArithmeticError) as exc:
                issues.append(Issue(code=Code.INVALID_ARG, field=f"args.{name}", message=str(exc),
                                    expected=spec.type, found=show_shallow(given[name])))
                values[name] = BAD
                continue
            if nesting(values[name]) > MAX_NESTING:
                issues.append(too_deep(f"args.{name}"))
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
    """Coerce an arg value (possibly a command-line string) to its declared type; raises
    TypeError, ValueError or ArithmeticError (an overflow)."""
    if kind == "json":
        if isinstance(value, str):
            return _json_or_text(value)
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
    if isinstance(result, float) and not math.isfinite(result):
        raise ValueError(f"expected a finite number, found {show_shallow(value)}")
    return result


def _json_or_text(text: str) -> Any:
    """`text` as JSON when it parses, else the text itself; JSON nested too deeply for the
    parser is refused (ValueError)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse "node.param=value" (value as JSON when it parses, else a string); raises
    ValueError."""
    target, eq, raw = text.partition("=")
    if not eq or "." not in target:
        raise ValueError(f"expected NODE.PARAM=VALUE, found {text!r}")
    return target, _json_or_text(raw)


def show_shallow(value: Any) -> str:
    """`show(value)` for values of any depth (a deep one is described, not printed)."""
    if isinstance(value, dict | list | tuple) and nesting(value, 8) > 8:
        return f"a {type(value).__name__} nested more than 8 levels deep"
    return show(value)


def split_overrides(
    doc: GraphDoc, overrides: dict[str, Any], issues: list[Issue]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for target, value in overrides.items():
        node, _, param = target.rpartition(".")  # node ids may hold dots, params never
        if nesting(value) > MAX_NESTING:
            issues.append(too_deep(f"params.{param}", node))
            continue
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
    """Replace {"arg": NAME} by the arg's value (also inside lists and dicts), without
    recursion. BAD (with the issues appended) for a reference to an undeclared arg, or a
    value that nests deeper than MAX_NESTING once args are in place."""
    if not isinstance(value, dict | list | tuple):
        return value
    field, before, bad = f"params.{param}", len(issues), False
    root = [value]
    stack: list[tuple[Any, Any, Any, int]] = [(root, 0, value, 1)]  # (holder, slot, item, depth)
    while stack:
        holder, slot, item, depth = stack.pop()
        if isinstance(item, dict) and len(item) == 1 and "arg" in item:
            name = item["arg"]
            if not isinstance(name, str) or name not in args:
                found = show_shallow(name)
                issues.append(Issue(code=Code.UNKNOWN_ARG, node=node, field=field,
                                    message=f"param refers to undeclared arg {found}",
                                    expected=", ".join(args) or "a declared arg", found=found))
                continue
            item = holder[slot] = args[name]
            if item is BAD:  # reported with the arg
                bad = True
                continue
            if depth - 1 + nesting(item) > MAX_NESTING:
                issues.append(too_deep(field, node))
                break
        elif isinstance(item, dict | list):
            if depth > MAX_NESTING:
                issues.append(too_deep(field, node))
                break
            copy = holder[slot] = dict(item) if isinstance(item, dict) else list(item)
            pairs = copy.items() if isinstance(copy, dict) else enumerate(copy)
            stack.extend(reversed([(copy, k, v, depth + 1) for k, v in pairs]))
        elif isinstance(item, tuple) and depth - 1 + nesting(item) > MAX_NESTING:
            issues.append(too_deep(field, node))
            break
    return BAD if bad or len(issues) > before else root[0]
