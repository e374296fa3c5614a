"""The identity of a run request, so an identical resubmission can reuse its plan.

A request is a document (a dict, JSON text, a file, or a checked GraphDoc), its args, its
overrides and the outputs asked for. Its digest is xxh3_128 over the document's bytes (msgpack
of a dict as given, the text, or the file's path and contents) and the rest. Two requests
with equal digests prepare to the same plan as long as the files the plan fingerprints are
unchanged (`Plan.files_unchanged`). A request that cannot be encoded has no digest (None).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgpack
import xxhash

from .document import GraphDoc

MAX_FILE_BYTES = 64 * 1024 * 1024  # larger documents are not digested (planned each time)


def request_digest(source: Any, args: Mapping[str, Any] | None,
                   overrides: Mapping[str, Any] | None,
                   outputs: list[str] | None) -> str | None:
    """The digest of a request, or None when it has none."""
    try:
        if type(source) is dict:  # the common case: one packing of everything
            return xxhash.xxh3_128_hexdigest(b"d" + msgpack.packb(
                [source, dict(args or {}), dict(overrides or {}), outputs], use_bin_type=True))
        h = xxhash.xxh3_128()
        h.update(_document_bytes(source))
        h.update(msgpack.packb([dict(args or {}), dict(overrides or {}), outputs],
                               use_bin_type=True))
    except (TypeError, ValueError, OSError, OverflowError, RecursionError):
        return None
    return h.hexdigest()


def _document_bytes(source: Any) -> bytes:
    if isinstance(source, dict | GraphDoc):
        data = source.dump() if isinstance(source, GraphDoc) else source
        packed: bytes = msgpack.packb(data, use_bin_type=True)
        return (b"g" if isinstance(source, GraphDoc) else b"d") + packed
    text = str(source)
    if isinstance(source, str) and text.lstrip().startswith("{"):
        return b"t" + text.encode()
    path = Path(source)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError("document too large to digest")
    return b"f" + str(path.resolve()).encode() + b"\0" + path.read_bytes()
