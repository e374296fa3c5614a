"""Cache keys: a canonical msgpack encoding hashed with xxh3_128.

    key(node) = xxh3_128(msgpack(canonical(
        [HASH_SCHEMA, op name, op version, params, fingerprint, run settings,
         sorted (port, upstream key, upstream port) for each input])))

`run settings` are [device kind, dtype] for ops that compute on the run's device (declared
`device=True`), else nil.

msgpack does not promise a stable byte sequence across versions, and maps follow dict
order, so `canonical` sorts map keys itself, encodes every float as float64, tuples as
lists, and integers beyond 64 bits as tagged strings. msgpack is pinned to major version 1
and golden tests pin the keys of the graphs in `graphs/`. Bump HASH_SCHEMA on any change.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import msgpack
import xxhash

# 2: run settings (device kind, dtype) in the keys of device ops. 3: sampling numbers changed
# under unchanged recipes (schedules and the log-sigma table computed in float32,
# docs/reproducibility.md §8), so results cached before are stale.
HASH_SCHEMA = 3
MAX_DEPTH = 64


def canonical(obj: Any) -> Any:
    """A structure msgpack encodes the same way every time.

    Built without recursion: containers nested MAX_DEPTH deep (the params map being the
    first level) raise ValueError, and so would no deeper input."""
    kind = type(obj)
    if kind is dict:  # flat params, the common case: str keys, scalar values
        for k, v in obj.items():
            if type(k) is not str or type(v) not in PLAIN:
                break
        else:
            flat: dict[str, Any] = {}
            for k in sorted(obj):
                v, kind = obj[k], type(obj[k])
                if kind is float:
                    flat[k] = v if v == v else "__nan__"
                elif kind is int:
                    flat[k] = v if -(2**63) <= v < 2**64 else ["__bigint__", str(v)]
                else:  # str, bool, None
                    flat[k] = v
            return flat
    elif not isinstance(obj, dict | list | tuple):
        return _scalar(obj)
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(root, 0, obj, 0)]  # (holder, slot, item, depth)
    while stack:
        holder, slot, item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= MAX_DEPTH:
                raise ValueError(f"params nested deeper than {MAX_DEPTH} levels")
            keys = sorted(item, key=_sort_key)
            holder[slot] = out = dict.fromkeys(keys)  # sorted order, filled below
            stack.extend((out, k, item[k], depth + 1) for k in keys)
        elif isinstance(item, list | tuple):
            if depth >= MAX_DEPTH:
                raise ValueError(f"params nested deeper than {MAX_DEPTH} levels")
            holder[slot] = seq = [None] * len(item)
            stack.extend((seq, i, v, depth + 1) for i, v in enumerate(item))
        else:
            holder[slot] = _scalar(item)
    return root[0]


PLAIN = frozenset({str, int, float, bool, type(None)})  # scalars: a flat dict sorts by key


def _sort_key(k: Any) -> tuple[str, str]:
    return (type(k).__name__, str(k))


def _scalar(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float:
        return "__nan__" if value != value else value
    if isinstance(value, bool | str | bytes):  # subclasses (a str enum) as before
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else ["__bigint__", str(value)]
    if isinstance(value, float):
        return "__nan__" if math.isnan(value) else float(value)
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def same_data(a: Any, b: Any) -> bool:
    """`a == b`, and no key could tell them apart: the same types at every position (1,
    1.0 and True are equal in Python but not in a key) and zeros of the same sign. Nested
    dicts with keys other than strings count as different (the caller then does the
    careful thing: checks and keys again)."""
    if a != b:
        return False
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        kind = type(x)
        if kind is not type(y):
            return False
        if kind is float:
            if x == 0.0 and math.copysign(1.0, x) != math.copysign(1.0, y):
                return False
        elif kind is dict:
            for k, v in x.items():
                if type(k) is not str:
                    return False
                stack.append((v, y[k]))
        elif kind is list or kind is tuple:
            stack.extend(zip(x, y, strict=True))
    return True


def same_params(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """`same_data` for params (or overrides) by name, quick for flat ones."""
    if a is b:
        return True
    if a is None or b is None or a != b:
        return False
    for name, v in a.items():
        kind = type(v)
        w = b[name]
        if kind is not type(w):
            return False
        if kind is float:
            if v == 0.0 and math.copysign(1.0, v) != math.copysign(1.0, w):
                return False
        elif kind is dict or kind is list or kind is tuple:
            return same_data(a, b)
    return True


def encode(obj: Any) -> bytes:
    """Canonical msgpack bytes of `obj`."""
    data: bytes = msgpack.packb(canonical(obj), use_bin_type=True, use_single_float=False)
    return data


def digest(data: bytes) -> str:
    """xxh3_128 of bytes, as 32 hex digits."""
    return xxhash.xxh3_128_hexdigest(data)


def node_key(
    op: str,
    version: int,
    params: Any,
    inputs: Iterable[tuple[str, str, str]],
    fingerprint: Any = None,
    run: Any = None,
) -> str:
    """The Merkle key of a node from its recipe and its inputs' keys.

    `inputs` holds (port, upstream key, upstream port); variadic ports use "port#i"; `run`
    holds the run settings that change the node's numbers (None for most ops)."""
    return key_from(recipe_head(op, version, params), inputs, fingerprint, run)


def recipe_head(op: str, version: int, params: Any) -> bytes:
    """The packed start of a key's body (schema, op, version, params): shared by every node
    with the same recipe, so a plan packs it once per recipe."""
    pack = _packer().pack
    head: bytes = b"\x97" + pack(HASH_SCHEMA) + pack(op) + pack(version)
    packed: bytes = pack(canonical(params))
    return head + packed


def key_from(head: bytes, inputs: Iterable[tuple[str, str, str]], fingerprint: Any = None,
             run: Any = None) -> str:
    """`node_key` from a `recipe_head`: the same bytes as packing the whole body at once (a
    msgpack array is its header followed by its items)."""
    return links_key(head + recipe_tail(fingerprint, run), inputs)


def recipe_tail(fingerprint: Any = None, run: Any = None) -> bytes:
    """The packed fingerprint and run settings that follow a `recipe_head` in a key's body."""
    if fingerprint is None and run is None:
        return _NIL_NIL
    pack = _packer().pack
    tail: bytes = (_NIL if fingerprint is None else pack(canonical(fingerprint))) + (
        _NIL if run is None else pack(canonical(run)))
    return tail


@lru_cache(maxsize=64)
def run_tail(*run: str) -> bytes:
    """`recipe_tail` of a device op without a fingerprint: one per run settings."""
    return recipe_tail(None, list(run))


def links_key(prefix: bytes, inputs: Iterable[tuple[str, str, str]],
              pack: Any = None) -> str:
    """The key whose body is `prefix` (`recipe_head` + `recipe_tail`) followed by the sorted
    links. `pack`, a msgpack packer's `pack` that only this caller uses, saves looking up
    the thread's own."""
    links = sorted(inputs) if type(inputs) is not list or len(inputs) > 1 else inputs
    packed: bytes = (pack or _packer().pack)(links)
    return xxhash.xxh3_128_hexdigest(prefix + packed)


KEY_HEADER = b"\xd9\x20"  # msgpack's header of a 32-character string: every key


def array_header(length: int) -> bytes:
    """The packed header of a msgpack array of `length` items (what precedes them)."""
    packed: bytes = _packer().pack([None] * length)
    return packed[:len(packed) - length]  # each nil is one byte


def link_lead(port: str) -> bytes:
    """What precedes the upstream key in the packed link (port, key, upstream port): the
    link's array header, the port and the key's string header. With `array_header` and
    the packed upstream ports, the bytes `links_key` packs for links one per port (sorted
    by port), assembled piece by piece."""
    lead: bytes = b"\x93" + _packer().pack(port) + KEY_HEADER
    return lead


def packer() -> Any:
    """This thread's msgpack packer's `pack`, for a run of `links_key` calls in it."""
    return _packer().pack


_NIL: bytes = msgpack.packb(None)
_NIL_NIL = _NIL + _NIL


_LOCAL = threading.local()


def _packer() -> msgpack.Packer:
    """This thread's reusable packer (the same bytes as msgpack.packb, without building a
    packer per key)."""
    packer: msgpack.Packer | None = getattr(_LOCAL, "packer", None)
    if packer is None:
        packer = _LOCAL.packer = msgpack.Packer(use_bin_type=True, use_single_float=False)
    return packer
