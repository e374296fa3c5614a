"""Values bound for the head travel as graphrt's codec bytes (graphrt.core.store.codec).

Between workers, tensors go through Ray's object store zero-copy: read-only views of shared
memory, safe because ops never mutate their inputs. The head's caller may do anything with
the outputs it gets, so those are sent as codec bytes and decoded into ordinary tensors;
values the codec cannot serialize (a model asked for as an output) go as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphrt.core.errors import NotSerializable
from graphrt.core.store import codec


@dataclass(frozen=True)
class Packed:
    data: bytes
    ext: str


def pack(value: Any) -> Any:
    try:
        return Packed(*codec.encode(value))
    except NotSerializable:
        return value


def unpack(value: Any) -> Any:
    return codec.decode(value.data, value.ext) if isinstance(value, Packed) else value


def pack_all(values: dict[str, Any]) -> dict[str, Any]:
    return {k: pack(v) for k, v in values.items()}


def unpack_all(values: dict[str, Any]) -> dict[str, Any]:
    return {k: unpack(v) for k, v in values.items()}
