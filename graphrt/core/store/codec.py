"""Serializing node outputs for the disk store: tensors as safetensors, the rest as msgpack.

A value tree of dicts, lists, tuples, scalars, strings, bytes and tensors becomes either a
`.msgpack` blob (no tensors) or a `.safetensors` file whose tensors are "t0", "t1", … and
whose metadata "graphrt.tree" holds the msgpack tree (hex) with tensors as references.
Anything else (a loaded model, say) raises NotSerializable: it stays in memory only.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import msgpack

from ..errors import NotSerializable
from ..values import is_tensor

_TENSOR, _TUPLE = 1, 2
TREE_KEY = "graphrt.tree"


def encode(value: Any) -> tuple[bytes, str]:
    """(bytes, extension) for `value`; raises NotSerializable."""
    tensors: list[Any] = []

    def default(obj: Any) -> Any:
        if is_tensor(obj):
            tensors.append(obj)
            return msgpack.ExtType(_TENSOR, msgpack.packb(len(tensors) - 1))
        if isinstance(obj, tuple):
            return msgpack.ExtType(_TUPLE, pack(list(obj)))
        if isinstance(obj, dict):
            return dict(obj)
        if isinstance(obj, list):
            return list(obj)
        raise NotSerializable(f"cannot persist a {type(obj).__name__}")

    def pack(obj: Any) -> bytes:
        data: bytes = msgpack.packb(obj, default=default, strict_types=True, use_bin_type=True)
        return data

    try:
        tree = pack(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise NotSerializable(str(exc)) from exc
    if not tensors:
        return tree, "msgpack"
    from safetensors.torch import save

    named = {f"t{i}": t.detach().to("cpu").contiguous().clone() for i, t in enumerate(tensors)}
    return save(named, metadata={TREE_KEY: tree.hex()}), "safetensors"


def decode(data: bytes, ext: str) -> Any:
    """Inverse of `encode`."""
    if ext == "msgpack":
        return _unpack(data, {})
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    tree = bytes.fromhex(header["__metadata__"][TREE_KEY])
    from safetensors.torch import load

    return _unpack(tree, load(data))


def _unpack(tree: bytes, tensors: dict[str, Any]) -> Any:
    def ext_hook(code: int, payload: bytes) -> Any:
        if code == _TENSOR:
            return tensors[f"t{msgpack.unpackb(payload)}"]
        if code == _TUPLE:
            return tuple(_unpack(payload, tensors))
        raise ValueError(f"unknown extension type {code}")

    return msgpack.unpackb(tree, ext_hook=ext_hook, raw=False, strict_map_key=False)
