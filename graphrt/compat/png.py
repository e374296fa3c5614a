"""Graphs embedded in PNG outputs: `graphrt run output.png` reruns what made the image.

`image.save` writes a "graphrt" text chunk holding {"graph", "args", "overrides"}; the
document read back has those args as its defaults and the overrides applied, so its cache
keys equal the original run's. A ComfyUI output's "prompt" chunk (API format) is read too,
else its "workflow" chunk (UI format).
Pure Python (zlib for compressed chunks): loading a graph never needs an image library.

Reading is total: a truncated file, a malformed or oversized text chunk, JSON that is not
a graph's shape, are each an `Issue`, never an exception.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from graphrt.core.errors import Code, Issue, show

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEY = "graphrt"
MAX_TEXT = 64 * 1024**2  # a text chunk's size once inflated


class _Malformed(ValueError):
    pass


def text_chunks(data: bytes) -> tuple[dict[str, str], dict[str, Issue]]:
    """The tEXt, zTXt and iTXt entries of a PNG file, and an issue per malformed chunk
    (keyed by the chunk's keyword when it has one, else by its position)."""
    out: dict[str, str] = {}
    bad: dict[str, Issue] = {}
    pos, index = len(SIGNATURE), 0
    while pos < len(data):
        if pos + 8 > len(data):
            bad[f"#{index}"] = _issue(index, "????", "truncated chunk header")
            break
        length = int.from_bytes(data[pos: pos + 4], "big")
        kind = data[pos + 4: pos + 8].decode("latin-1")
        body = data[pos + 8: pos + 8 + length]
        pos += 12 + length
        if kind == "IEND":
            break
        if kind in ("tEXt", "zTXt", "iTXt"):
            keyword = body.partition(b"\0")[0].decode("latin-1")
            try:
                if len(body) < length:
                    raise _Malformed(f"chunk truncated ({len(body)} of {length} bytes)")
                out[keyword] = _text(kind, body)
            except (_Malformed, zlib.error, UnicodeDecodeError) as exc:
                bad[keyword or f"#{index}"] = _issue(index, kind, str(exc), keyword)
        index += 1
    return out, bad


def _text(kind: str, body: bytes) -> str:
    """The text of one tEXt, zTXt or iTXt chunk; raises _Malformed, zlib.error or
    UnicodeDecodeError."""
    _key, sep, rest = body.partition(b"\0")
    if not sep:
        raise _Malformed("no keyword separator")
    if kind == "tEXt":
        return rest.decode("latin-1")
    if kind == "zTXt":
        if rest[:1] != b"\0":
            raise _Malformed("unknown compression method")
        return _inflate(rest[1:]).decode("latin-1")
    if len(rest) < 2 or rest[0] not in (0, 1) or rest[1] != 0:
        raise _Malformed("bad compression flag or method")
    compressed, rest = rest[0], rest[2:]
    _lang, sep1, rest = rest.partition(b"\0")
    _translated, sep2, text = rest.partition(b"\0")
    if not (sep1 and sep2):
        raise _Malformed("no language or translated keyword separator")
    return (_inflate(text) if compressed else text).decode("utf-8")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_TEXT)
    if inflater.unconsumed_tail:
        raise _Malformed(f"text inflates beyond {MAX_TEXT} bytes")
    if not inflater.eof:
        raise _Malformed("compressed text is truncated")
    return out


def _issue(index: int, kind: str, what: str, keyword: str = "") -> Issue:
    where = f"PNG chunk {index} ({kind}{', ' + repr(keyword) if keyword else ''})"
    return Issue(code=Code.INVALID_DOCUMENT, field="png", message=f"{where}: {what}",
                 expected="a well-formed text chunk", found=show(what))


def document_from_png(data: bytes) -> tuple[dict[str, Any] | None, list[Issue]]:
    """The graph document a PNG carries, ready to rerun."""
    chunks, bad = text_chunks(data)
    for key, rerun in ((KEY, True), ("prompt", False), ("workflow", False)):
        if key in bad:
            return None, [bad[key]]
        if key not in chunks:
            continue
        try:
            meta = json.loads(chunks[key])
        except (ValueError, RecursionError) as exc:
            return None, [Issue(code=Code.INVALID_DOCUMENT, field=f"png.{key}",
                                message=f"unreadable graph in PNG: {exc}")]
        doc = _rerunnable(meta) if rerun else meta
        if not isinstance(doc, dict):
            return None, [Issue(code=Code.INVALID_DOCUMENT, field=f"png.{key}",
                                message="the graph in this PNG is not shaped as one",
                                expected="an object with a graph", found=type(meta).__name__)]
        return doc, []
    return None, [*bad.values(), Issue(code=Code.INVALID_DOCUMENT,
                                       message="this PNG carries no graph",
                                       expected=f"a '{KEY}', 'prompt' or 'workflow' "
                                       "text chunk",
                                       found="none")]


def _rerunnable(meta: Any) -> dict[str, Any] | None:
    """The embedded graph with its args as defaults and its overrides applied; None when
    `meta` is not {"graph": {...}, "args": {...}, "overrides": {...}}."""
    if not isinstance(meta, dict) or not isinstance(meta.get("graph"), dict):
        return None
    doc = dict(meta["graph"])
    given, overrides = meta.get("args") or {}, meta.get("overrides") or {}
    specs, nodes = doc.get("args", {}), doc.get("nodes", {})
    if not all(isinstance(x, dict) for x in (given, overrides, specs, nodes)):
        return None
    if not all(isinstance(spec, dict) for spec in specs.values()):
        return None
    doc["args"] = {name: {**spec, "default": given.get(name, spec.get("default"))}
                   for name, spec in specs.items()}
    nodes = {k: dict(v) if isinstance(v, dict) else v for k, v in nodes.items()}
    for target, value in overrides.items():
        node, _, param = str(target).rpartition(".")
        if isinstance(nodes.get(node), dict):
            params = nodes[node].get("params", {})
            nodes[node]["params"] = {**(params if isinstance(params, dict) else {}),
                                     param: value}
    doc["nodes"] = nodes
    return doc
