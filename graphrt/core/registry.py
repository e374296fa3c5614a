"""The op registry: an explicit instance, built from lists of ops or from entry points.

Plug-in op packs declare an entry point in the group `graphrt.ops` whose object is a list
of ops; graphrt's own library is one such pack (`graphrt.library.default_registry` builds
the registry hosts use by default). A duplicate name is an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any

from .errors import OpDefinitionError
from .op import OpSpec, spec_of
from .types import GENERIC_TYPES, PortType

ENTRY_POINT_GROUP = "graphrt.ops"


class Registry:
    """Op name → OpSpec."""

    def __init__(self, ops: Iterable[Any] = ()) -> None:
        self._ops: dict[str, OpSpec] = {}
        self._types: dict[str, PortType] | None = None
        self.extend(ops)

    def add(self, obj: Any) -> OpSpec:
        """Register one op (a decorated function or an OpSpec)."""
        spec = spec_of(obj)
        old = self._ops.get(spec.name)
        if old is not None and old.fn is not spec.fn:
            raise OpDefinitionError(
                f"duplicate op name {spec.name!r}: {_where(old)} and {_where(spec)}"
            )
        self._ops[spec.name] = spec
        self._types = None
        return spec

    def extend(self, ops: Iterable[Any]) -> Registry:
        for obj in ops:
            self.add(obj)
        return self

    def get(self, name: str) -> OpSpec | None:
        return self._ops.get(name)

    @property
    def by_name(self) -> Mapping[str, OpSpec]:
        """Op name → OpSpec, read only (its `get` spares a method call per node)."""
        return MappingProxyType(self._ops)

    def __getitem__(self, name: str) -> OpSpec:
        return self._ops[name]

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def __iter__(self) -> Iterator[OpSpec]:
        return iter(sorted(self._ops.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._ops)

    def port_types(self) -> dict[str, PortType]:
        """Every port type known here by name: the generic ones and those the ops use
        (computed once per set of ops)."""
        if self._types is None:
            known = dict(GENERIC_TYPES)
            for spec in self._ops.values():
                known.update((p.type.name, p.type) for p in (*spec.inputs, *spec.outputs))
            self._types = known
        return self._types

    def suggest(self, name: str) -> list[str]:
        """Close matches for an unknown op name ("did you mean")."""
        return difflib.get_close_matches(name, self._ops.keys(), n=3, cutoff=0.6)

    @classmethod
    def from_entry_points(cls, group: str = ENTRY_POINT_GROUP) -> Registry:
        """All ops published under the entry-point group (graphrt's library included)."""
        reg = cls()
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            reg.extend(ep.load())
        return reg


def _where(spec: OpSpec) -> str:
    return f"{spec.fn.__module__}.{spec.fn.__qualname__}"
