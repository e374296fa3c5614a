"""Declaring ops: the `@op` and `@macro` decorators and the `OpSpec` they attach.

An op is a pure function `fn(params, *inputs, ctx=...)`: `params` is a frozen pydantic model
(literals from JSON, part of the cache key), the positional parameters are input ports typed
with port types (`Annotated` aliases such as `graphrt.core.types.Float`), the return
annotation gives the output ports (one type → port `out`, a NamedTuple → named ports). An op
that needs run services declares a keyword-only `ctx: OpContext` (no default); the executor
always injects it. A macro takes its params, a `Builder` and one typed `Ref[...]` per input
port; it runs at plan time and returns the refs that stand for its outputs. Declarations for
hosts (files, cost, output, device) are keywords of `@op`. Mistakes in a declaration raise
`OpDefinitionError` at import time. Nothing is registered here.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict

from .document import Ref
from .errors import OpDefinitionError
from .hints import Cost, FileParam
from .types import PortType, port_type_of

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
INJECTABLE = frozenset({"ctx"})

F = TypeVar("F", bound=Callable[..., Any])


class Params(BaseModel):
    """Base class for op params: frozen (hashable, shareable) and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NoParams(Params):
    """Params of an op that takes none."""


@dataclass(frozen=True)
class Port:
    """A named, typed input or output of an op. A variadic input takes a list of links."""

    name: str
    type: PortType
    optional: bool = False
    variadic: bool = False
    description: str = ""


@dataclass(frozen=True, eq=False)
class OpSpec:
    """Everything the runtime knows about an op, derived from its signature."""

    name: str
    version: int
    fn: Callable[..., Any]
    params: type[BaseModel]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    single_output: bool
    injected: frozenset[str]
    description: str
    is_macro: bool = False
    fingerprint: Callable[..., Any] | None = None
    model_calls: Callable[[Any], int | None] | None = None
    files: tuple[FileParam, ...] = ()
    cost: Callable[[Any], Cost] | None = None
    is_output: bool = False
    device: bool = False

    def input(self, name: str) -> Port | None:
        return self.inputs_by_name.get(name)

    def output(self, name: str) -> Port | None:
        return self.outputs_by_name.get(name)

    @cached_property
    def inputs_by_name(self) -> dict[str, Port]:
        return {p.name: p for p in self.inputs}

    @cached_property
    def outputs_by_name(self) -> dict[str, Port]:
        return {p.name: p for p in self.outputs}

    @cached_property
    def first_output(self) -> str:
        return self.outputs[0].name if self.outputs else ""

    @cached_property
    def required_inputs(self) -> frozenset[str]:
        """Names of the input ports that must be linked."""
        return frozenset(p.name for p in self.inputs if not p.optional)

    def outputs_of(self, result: Any) -> dict[str, Any]:
        """Split an op's return value into a {port: value} dict."""
        if self.single_output:
            return {self.first_output: result}
        if not isinstance(result, tuple) or len(result) != len(self.outputs):
            raise TypeError(f"{self.name} must return {len(self.outputs)} values")
        return dict(zip((p.name for p in self.outputs), result, strict=True))


def op(
    name: str,
    *,
    version: int = 1,
    fingerprint: Callable[..., Any] | None = None,
    model_calls: Callable[[Any], int | None] | None = None,
    files: tuple[FileParam, ...] = (),
    cost: Callable[[Any], Cost] | None = None,
    output: bool = False,
    device: bool = False,
) -> Callable[[F], F]:
    """Declare `fn` as the op `name`.

    - `fingerprint(params, folders)`: a file-reading leaf adds its file's identity to its key;
    - `model_calls(params)`: the model evaluations a node will make (None when unknown);
    - `files`: params that name files, with their folders (hosts confine and list them);
    - `cost(params)`: the pixels, steps and batch a node asks for (hosts enforce limits);
    - `output`: the node's results are what a host shows (saved files);
    - `device`: the op computes on the run's device, so the run's device and dtype enter its
      cache key and its tensor inputs are handed to it on that device.
    """

    def wrap(fn: F) -> F:
        spec = replace(_build_spec(fn, name, version, is_macro=False), fingerprint=fingerprint,
                       model_calls=model_calls, files=files, cost=cost, is_output=output,
                       device=device)
        _check_files(spec)
        fn.op_spec = spec  # type: ignore[attr-defined]
        return fn

    return wrap


def macro(name: str, *, version: int = 1, cost: Callable[[Any], Cost] | None = None,
          files: tuple[FileParam, ...] = ()) -> Callable[[F], F]:
    """Declare `fn(params, builder, *refs)` as a macro op that expands at plan time; its
    input ports are typed `Ref[PortAlias]` and it returns `Ref`s into what it built. `files`
    declares its params that name files, as for an op (hosts list their folders)."""

    def wrap(fn: F) -> F:
        spec = replace(_build_spec(fn, name, version, is_macro=True), cost=cost, files=files)
        _check_files(spec)
        fn.op_spec = spec  # type: ignore[attr-defined]
        return fn

    return wrap


def _check_files(spec: OpSpec) -> None:
    for param in (f.param for f in spec.files):
        if param not in spec.params.model_fields:
            raise OpDefinitionError(f"op {spec.name!r}: file param {param!r} is not a param")


def spec_of(obj: Any) -> OpSpec:
    """The OpSpec of a decorated function (or the spec itself)."""
    if isinstance(obj, OpSpec):
        return obj
    spec = getattr(obj, "op_spec", None)
    if not isinstance(spec, OpSpec):
        raise OpDefinitionError(f"{obj!r} is not an op: decorate it with @op or @macro")
    return spec


def _build_spec(fn: Callable[..., Any], name: str, version: int, *, is_macro: bool) -> OpSpec:
    where = f"op {name!r} ({fn.__module__}.{fn.__qualname__})"
    if not NAME_RE.match(name):
        raise OpDefinitionError(f"{where}: name must be dotted lowercase 'family.verb'")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise OpDefinitionError(f"{where}: version must be an int >= 1")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # unresolvable annotation
        raise OpDefinitionError(f"{where}: cannot resolve annotations: {exc}") from exc
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    skip = 2 if is_macro else 1
    if len(positional) < skip:
        raise OpDefinitionError(f"{where}: first parameter must be the params model")
    params_model = hints.get(positional[0].name)
    if not (isinstance(params_model, type) and issubclass(params_model, BaseModel)):
        raise OpDefinitionError(f"{where}: first parameter must be a pydantic BaseModel")
    if not params_model.model_config.get("frozen"):
        raise OpDefinitionError(f"{where}: params model {params_model.__name__} must be frozen")
    inputs = []
    for p in positional[skip:]:
        inputs.append(_port(where, p.name, hints.get(p.name), optional=p.default is None,
                            macro=is_macro))
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            inputs.append(_port(where, p.name, hints.get(p.name), optional=True, variadic=True,
                                macro=is_macro))
        elif p.kind == p.KEYWORD_ONLY and p.name not in INJECTABLE:
            raise OpDefinitionError(f"{where}: unknown keyword-only parameter {p.name!r}")
        elif p.kind == p.KEYWORD_ONLY and p.default is not p.empty:
            raise OpDefinitionError(f"{where}: {p.name!r} is injected by the executor; "
                                    "declare it without a default")
        elif p.kind == p.VAR_KEYWORD:
            raise OpDefinitionError(f"{where}: **kwargs is not allowed")
    injected = frozenset(p.name for p in params if p.kind == p.KEYWORD_ONLY)
    if is_macro and injected:
        raise OpDefinitionError(f"{where}: macros take no injected parameters")
    outputs, single = _outputs(where, hints.get("return"), macro=is_macro)
    doc = inspect.getdoc(fn) or ""
    return OpSpec(name, version, fn, params_model, tuple(inputs), outputs, single, injected,
                  doc, is_macro=is_macro)


def _port_type(ann: Any, macro: bool) -> PortType | None:
    """The port type of an op's annotation, or of a macro's `Ref[...]` annotation."""
    if ann is not None and typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        ann = args[0] if len(args) == 1 else ann
    if macro:
        if typing.get_origin(ann) is not Ref:
            return None
        ann = typing.get_args(ann)[0]
    return port_type_of(ann)


def _port(where: str, name: str, ann: Any, *, optional: bool, variadic: bool = False,
          macro: bool = False) -> Port:
    ptype = _port_type(ann, macro)
    if ptype is None:
        kind = "Ref[<port type>]" if macro else "a port type (an Annotated alias)"
        raise OpDefinitionError(f"{where}: input {name!r} needs {kind}")
    return Port(name, ptype, optional=optional, variadic=variadic)


def _outputs(where: str, ann: Any, *, macro: bool = False) -> tuple[tuple[Port, ...], bool]:
    ptype = _port_type(ann, macro)
    if ptype is not None:
        return (Port("out", ptype),), True
    if isinstance(ann, type) and issubclass(ann, tuple) and hasattr(ann, "_fields"):
        hints = typing.get_type_hints(ann, include_extras=True)
        ports = []
        for field_name in ann._fields:
            ft = _port_type(hints.get(field_name), macro)
            if ft is None:
                raise OpDefinitionError(f"{where}: output {field_name!r} needs a port type")
            ports.append(Port(field_name, ft))
        if not ports:
            raise OpDefinitionError(f"{where}: an op needs at least one output")
        return tuple(ports), False
    raise OpDefinitionError(
        f"{where}: return annotation must be a port type or a NamedTuple of port types"
    )


__all__ = ["NamedTuple", "NoParams", "Params", "OpSpec", "Port", "macro", "op", "spec_of"]
