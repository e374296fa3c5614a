"""The one node checker: params against the op's model, links against its ports.

Validation of a document, macro expansion (`Builder.add`) and graphs used as ops all check a
node here, so a mistake anywhere is reported the same way: an `Issue` naming the node and
the field (`params.steps`, `in.latent`), with a code from `Code`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from .document import InputRef, Link, Ref
from .errors import Code, Issue, show
from .graph import Node
from .hashing import PLAIN
from .op import OpSpec
from .types import PortType

TypeOf = Callable[[Link, str, str, list[Issue]], "PortType | None"]
"""(link, node id, port name, issues) → the type it points at; None (with an issue appended
when the target is unknown, or silently when the target is broken and reported elsewhere)."""

_CODES = {"less_than_equal": Code.PARAM_ABOVE_MAX, "less_than": Code.PARAM_ABOVE_MAX,
          "greater_than_equal": Code.PARAM_BELOW_MIN, "greater_than": Code.PARAM_BELOW_MIN,
          "too_long": Code.PARAM_ABOVE_MAX, "too_short": Code.PARAM_BELOW_MIN,
          "string_too_long": Code.PARAM_ABOVE_MAX, "string_too_short": Code.PARAM_BELOW_MIN,
          "literal_error": Code.PARAM_NOT_IN_CHOICES, "enum": Code.PARAM_NOT_IN_CHOICES,
          "missing": Code.MISSING_PARAM, "extra_forbidden": Code.UNKNOWN_PARAM}


def check_node(
    node_id: str,
    spec: OpSpec,
    params: Mapping[str, Any] | BaseModel,
    links: Mapping[str, Link | Sequence[Link] | None],
    type_of: TypeOf,
    issues: list[Issue],
    *,
    source: str,
    origin: str | None = None,
) -> Node | None:
    """A checked Node, or None after appending every problem found to `issues`."""
    before = len(issues)
    model = check_params(spec, params, node_id, issues)
    inputs = check_links(node_id, spec, links, type_of, issues)
    if model is None or len(issues) > before:
        return None
    return Node(node_id, spec, model, inputs, source, origin)


MEMO_SIZE = 4096  # validated params kept per params model (cleared when full)
_MEMO: dict[type[BaseModel], dict[tuple[Any, ...], BaseModel]] = {}


def check_params(spec: OpSpec, params: Mapping[str, Any] | BaseModel, node_id: str,
                 issues: list[Issue]) -> BaseModel | None:
    """Validate params with the op's params model, converting errors to issues.

    Params models are frozen and their validators pure, so equal flat params (scalars only)
    validate to one shared model: a graph that repeats a recipe on many nodes validates it
    once (`params_key` tells equal values of different types apart)."""
    if isinstance(params, spec.params):
        return params
    raw = params.model_dump() if isinstance(params, BaseModel) else (
        params if type(params) is dict else dict(params))
    memo_key = params_key(raw)
    memo = _MEMO.get(spec.params) or _MEMO.setdefault(spec.params, {})
    if memo_key is not None:
        model = memo.get(memo_key)
        if model is not None:
            return model
    try:
        model = spec.params.model_validate(raw)
        if memo_key is not None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[memo_key] = model
        return model
    except (TypeError, ArithmeticError) as exc:  # a validator's own coercion (int(inf))
        issues.append(Issue(code=Code.INVALID_PARAM, node=node_id, field="params",
                            message=f"{spec.name} cannot take these params: "
                            f"{type(exc).__name__}: {exc}", expected="valid params",
                            found=type(exc).__name__))
        return None
    except PydanticError as exc:
        fields = list(spec.params.model_fields)
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            kind = str(err.get("type", ""))
            code = _CODES.get(kind) or (Code.PARAM_WRONG_TYPE if kind.endswith(
                ("_type", "_parsing")) else Code.INVALID_PARAM)
            field = f"params.{loc}" if loc else "params"
            if code is Code.UNKNOWN_PARAM:
                hint = difflib.get_close_matches(loc, fields, n=1)
                issues.append(Issue(code=code, node=node_id, field=field,
                                    message=f"{spec.name} has no param {loc!r}" + did_you_mean(
                                        hint), expected=", ".join(fields) or "no params",
                                    found=show(err.get("input"))))
            else:
                issues.append(Issue(code=code, node=node_id, field=field,
                                    message=err.get("msg", "invalid value"),
                                    expected=expectation(err), found=show(err.get("input"))))
        return None


def params_key(raw: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A hashable identity of flat params (their items and the values' types), or None when
    a value is not a plain scalar, or when a float param sits beside a zero (0.0 and -0.0
    are equal but key apart)."""
    kinds = tuple(map(type, raw.values()))
    if not PLAIN.issuperset(kinds) or (float in kinds and 0.0 in raw.values()):
        return None
    return (tuple(raw.items()), kinds)


def check_links(node_id: str, spec: OpSpec, links: Mapping[str, Link | Sequence[Link] | None],
                type_of: TypeOf, issues: list[Issue]) -> dict[str, Link | tuple[Link, ...]]:
    """Ports exist, lists only feed variadic ports, types match, required inputs are linked."""
    inputs: dict[str, Link | tuple[Link, ...]] = {}
    by_name = spec.inputs_by_name
    for port_name, value in links.items():
        port = by_name.get(port_name)
        if port is None:
            names = [p.name for p in spec.inputs]
            hint = difflib.get_close_matches(port_name, names, n=1)
            issues.append(Issue(code=Code.UNKNOWN_PORT, node=node_id, field=f"in.{port_name}",
                                message=f"{spec.name} has no input {port_name!r}"
                                + did_you_mean(hint), expected=", ".join(names) or "no inputs",
                                found=port_name))
            continue
        if value is None:
            continue
        refs: tuple[Link, ...]
        if type(value) is Ref or type(value) is InputRef or isinstance(value, Ref | InputRef):
            refs = (value,)  # the common case first: exact types are the fastest check
        elif isinstance(value, str | bytes) or not isinstance(value, Sequence):
            refs = (cast(Link, value),)
        else:
            refs = tuple(value)
            if not port.variadic:
                issues.append(Issue(code=Code.BAD_LINK, node=node_id, field=f"in.{port_name}",
                                    message="this port takes one link, not a list",
                                    expected='"node.port"', found=show([str(v) for v in refs])))
                continue
        want = port.type
        for ref in refs:
            src = type_of(ref, node_id, port_name, issues)
            if src is not None and src is not want and not want.accepts(src):
                issues.append(Issue(code=Code.TYPE_MISMATCH, node=node_id,
                                    field=f"in.{port_name}",
                                    message=f"{ref} gives {src}, but {port_name} takes "
                                    f"{want}", expected=str(want), found=str(src)))
        inputs[port_name] = refs if port.variadic else refs[0]
    if not spec.required_inputs.issubset(inputs):
        for port in spec.inputs:
            if not port.optional and port.name not in inputs and port.name not in links:
                issues.append(Issue(code=Code.MISSING_INPUT, node=node_id,
                                    field=f"in.{port.name}",
                                    message=f"required input {port.name!r} ({port.type}) is "
                                    "not linked", expected=str(port.type), found="nothing"))
    return inputs


def expectation(err: Any) -> str:
    """A short 'expected' text for a pydantic error."""
    ctx = err.get("ctx") or {}
    bounds = [f"{op} {ctx[k]}" for k, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
              if k in ctx]
    if bounds:
        return " and ".join(bounds)
    for key in ("expected", "pattern", "min_length", "max_length", "error"):
        if key in ctx:
            return f"{key.replace('_', ' ')} {ctx[key]}" if key != "expected" else str(ctx[key])
    return str(err.get("type", "valid value")).replace("_", " ")


def did_you_mean(hints: Sequence[str]) -> str:
    return f"; did you mean {' or '.join(map(repr, hints))}?" if hints else ""
