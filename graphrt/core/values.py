"""Generic facts about values flowing through a graph, without importing torch.

`nbytes` sizes a value for the memory budget; `content_digest` fingerprints a value's
contents (strict mode uses it to catch ops that mutate their inputs). Tensors are
recognised by duck typing; the core never imports torch (a tensor's own module is used when
one is seen).
"""

from __future__ import annotations

import sys
from typing import Any

import xxhash


def is_tensor(value: Any) -> bool:
    kind = type(value)
    if kind in _TENSOR_TYPES:
        return True
    if kind.__module__.startswith("torch") and hasattr(value, "element_size"):
        _TENSOR_TYPES.add(kind)  # each tensor class is recognised by duck typing once
        return True
    return False


_TENSOR_TYPES: set[type] = set()


_SCALARS = (int, float, bool, str, bytes, type(None))
_SCALAR_SET = frozenset(_SCALARS)
_FIXED_SIZES = {t: sys.getsizeof(v) for t, v in ((float, 0.0), (bool, True), (type(None), None))}


def nbytes(value: Any) -> int:
    """Approximate memory held by a value (tensors exactly; models by their parameters)."""
    if type(value) is dict:  # a node's outputs of scalars: the common case of trivial ops
        size = 0
        for v in value.values():
            fixed = _FIXED_SIZES.get(type(v))
            if fixed is not None:
                size += fixed
            elif type(v) in _SCALAR_SET:
                size += sys.getsizeof(v)
            else:
                break
        else:
            return size
    total, seen, stack = 0, set(), [value]
    while stack:
        v = stack.pop()
        if type(v) in _SCALAR_SET:  # most values of trivial ops: no bookkeeping needed
            total += sys.getsizeof(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        if is_tensor(v):
            total += v.element_size() * v.nelement()
        elif hasattr(v, "graphrt_nbytes"):
            total += int(v.graphrt_nbytes())
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend(v)
        elif hasattr(v, "state_dict") and callable(v.state_dict):
            stack.extend(v.state_dict().values())
        elif hasattr(v, "__dict__") and not isinstance(v, type):
            stack.extend(vars(v).values())
        else:
            total += sys.getsizeof(v)
    return total


def to_device(value: Any, device: str) -> Any:
    """`value` with every tensor in it on `device`: tensors, and the dicts, lists and tuples
    holding them, are new objects where something moved; anything else (models) is shared
    as it is. Never moves a value in place."""
    kind = type(value)
    if kind in _SCALARS or kind in _UNMOVED:
        return value
    if kind in _TENSOR_TYPES or is_tensor(value):
        if device == "cpu" and value.is_cpu:  # the common case, without parsing a device
            return value
        return value.to(device)
    if isinstance(value, dict):
        moved, changed = {}, False
        for k, v in value.items():
            w = moved[k] = to_device(v, device)
            changed = changed or w is not v
        return moved if changed else value
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        items, changed = [], False
        for v in value:
            w = to_device(v, device)
            items.append(w)
            changed = changed or w is not v
        if not changed:
            return value
        return items if isinstance(value, list) else tuple(items)
    _UNMOVED.add(kind)  # what this type's values are decides it: no need to ask again
    return value


_UNMOVED: set[type] = set()  # types `to_device` returns as they are (models, named tuples)


def content_digest(value: Any) -> str:
    """xxh3_128 over a value's full contents (tensor bytes included), walked iteratively."""
    h = xxhash.xxh3_128()
    seen: set[int] = set()
    alive: list[Any] = []  # keeps temporaries alive so their ids are not reused
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        alive.append(v)
        h.update(type(v).__name__.encode())
        if is_tensor(v):
            t = v.detach().to("cpu").contiguous()
            h.update(repr((t.dtype, tuple(t.shape))).encode())
            h.update(t.reshape(-1).view(_u8()).numpy().tobytes())
        elif isinstance(v, str | bytes | int | float | bool) or v is None:
            h.update(repr(v).encode())
        elif id(v) in seen:
            h.update(b"<seen>")
        elif isinstance(v, dict):
            seen.add(id(v))
            for k in sorted(v, key=repr):
                h.update(repr(k).encode())
                stack.append(v[k])
        elif isinstance(v, list | tuple):
            seen.add(id(v))
            h.update(str(len(v)).encode())
            stack.extend(reversed(v))
        elif hasattr(v, "state_dict") and callable(v.state_dict):
            seen.add(id(v))
            stack.append(dict(v.state_dict()))
        elif hasattr(v, "__dict__"):
            seen.add(id(v))
            # private attributes hold derived state (memos), not content
            stack.append({k: x for k, x in vars(v).items() if not k.startswith("_")})
        else:
            h.update(repr(v).encode())
    return h.hexdigest()


def _u8() -> Any:
    return sys.modules["torch"].uint8  # loaded: a tensor was seen
