"""Graphs embedded in PNG outputs: `graphrt run output.png` reruns what made the image.

`image.save` writes a "graphrt" text chunk holding {"graph", "args", "overrides"}; the
document read back has those args as its defaults and the overrides applied, so its cache
keys equal the original run's. A ComfyUI output's "prompt" chunk (API format) is read too.
Pure Python (zlib for compressed chunks): loading a graph never needs an image library.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

from graphrt.core.errors import Code, Issue

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEY = "graphrt"


def text_chunks(data: bytes) -> dict[str, str]:
    """The tEXt, zTXt and iTXt entries of a PNG file."""
    out: dict[str, str] = {}
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            out[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode()
        elif kind == b"IEND":
            break
    return out


def document_from_png(data: bytes) -> tuple[dict[str, Any] | None, list[Issue]]:
    """The graph document a PNG carries, ready to rerun."""
    try:
        chunks = text_chunks(data)
        if KEY in chunks:
            return _rerunnable(json.loads(chunks[KEY])), []
        if "prompt" in chunks:
            return json.loads(chunks["prompt"]), []
    except (ValueError, zlib.error, struct.error, KeyError, TypeError) as exc:
        return None, [Issue(code=Code.INVALID_DOCUMENT, message=f"unreadable graph in PNG: {exc}")]
    return None, [Issue(code=Code.INVALID_DOCUMENT, message="this PNG carries no graph",
                        expected=f"a '{KEY}' or 'prompt' text chunk", found="none")]


def _rerunnable(meta: dict[str, Any]) -> dict[str, Any]:
    doc = dict(meta["graph"])
    doc["args"] = {name: {**spec, "default": meta.get("args", {}).get(name, spec.get("default"))}
                   for name, spec in doc.get("args", {}).items()}
    nodes = {k: dict(v) for k, v in doc.get("nodes", {}).items()}
    for target, value in (meta.get("overrides") or {}).items():
        node, _, param = target.partition(".")
        if node in nodes:
            nodes[node]["params"] = {**nodes[node].get("params", {}), param: value}
    doc["nodes"] = nodes
    return doc
