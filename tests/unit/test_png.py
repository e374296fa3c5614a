"""Reading a graph from a PNG is total: every malformed chunk is an issue, never an exception
(issue 14, break 12)."""

import io
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from graphrt.compat import png

GRAPH = {"graph": {"nodes": {"c": {"op": "test.const"}}, "outputs": {"x": "c.out"}},
         "args": {}, "overrides": {}}


def chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc


def png_with(*chunks: bytes, graph: dict | None = None) -> bytes:
    """A 2×2 PNG carrying `graph` (as image.save writes it) and extra chunks before IEND."""
    info = PngInfo()
    if graph is not None:
        info.add_text(png.KEY, json.dumps(graph))
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, format="PNG", pnginfo=info)
    data = buf.getvalue()
    end = data.rindex(b"IEND") - 4
    return data[:end] + b"".join(chunks) + data[end:]


def test_a_well_formed_png_reads() -> None:
    doc, issues = png.document_from_png(png_with(graph=GRAPH))
    assert issues == [] and doc is not None and doc["outputs"] == {"x": "c.out"}
    itxt = chunk(b"iTXt", b"graphrt\0\1\0\0\0" + zlib.compress(json.dumps(GRAPH).encode()))
    doc, issues = png.document_from_png(png_with(itxt))
    assert issues == [] and doc is not None and "c" in doc["nodes"]


MALFORMED = {
    "empty iTXt": chunk(b"iTXt", b""),
    "iTXt without its separators": chunk(b"iTXt", b"graphrt\0\0\0"),
    "iTXt with a bad compression flag": chunk(b"iTXt", b"graphrt\0\7\0\0\0{}"),
    "iTXt not UTF-8": chunk(b"iTXt", b"graphrt\0\0\0\0\0\xff\xfe"),
    "iTXt with bad zlib": chunk(b"iTXt", b"graphrt\0\1\0\0\0not zlib"),
    "empty tEXt": chunk(b"tEXt", b""),
    "empty zTXt": chunk(b"zTXt", b""),
    "zTXt with bad zlib": chunk(b"zTXt", b"graphrt\0\0garbage"),
    "zTXt cut short": chunk(b"zTXt", b"graphrt\0\0" + zlib.compress(b"{}" * 100)[:10]),
    "graph JSON not an object": chunk(b"tEXt", b"graphrt\0[1, 2]"),
    "graph JSON with lists for maps": chunk(b"tEXt", b'graphrt\0{"graph": {"args": []}}'),
    "overrides a list": chunk(b"tEXt", b'graphrt\0{"graph": {}, "overrides": [1]}'),
    "graph JSON too deep": chunk(b"tEXt", b"graphrt\0" + b"[" * 100_000 + b"]" * 100_000),
    "prompt JSON not an object": chunk(b"tEXt", b"prompt\0[1]"),
    "prompt not JSON": chunk(b"tEXt", b"prompt\0{nope"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_every_malformed_chunk_is_an_issue(name: str) -> None:
    doc, issues = png.document_from_png(png_with(MALFORMED[name]))
    assert doc is None and issues and all(i.code == "invalid_document" for i in issues)


def test_truncated_files_and_text_bombs_are_issues(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = png_with(graph=GRAPH)
    for cut in (len(png.SIGNATURE) + 3, len(whole) // 2, len(whole) - 5):
        doc, issues = png.document_from_png(whole[:cut])
        assert doc is None or doc["outputs"] == {"x": "c.out"}
        assert doc is not None or issues
    monkeypatch.setattr(png, "MAX_TEXT", 1000)
    bomb = chunk(b"zTXt", b"graphrt\0\0" + zlib.compress(b" " * 100_000))
    doc, issues = png.document_from_png(png_with(bomb))
    assert doc is None and "inflates beyond" in issues[0].message


def test_a_malformed_chunk_beside_the_graph_does_not_hide_it() -> None:
    doc, issues = png.document_from_png(png_with(chunk(b"iTXt", b""), graph=GRAPH))
    assert issues == [] and doc is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"IEND", b"IDAT"]),
                          st.binary(max_size=40)), max_size=4),
       st.integers(0, 400), st.binary(max_size=3))
def test_any_chunks_read_without_an_exception(chunks: list, cut: int, junk: bytes) -> None:
    data = png_with(*(chunk(kind, body) for kind, body in chunks), graph=GRAPH)
    for variant in (data, data[: len(data) - cut] + junk, png.SIGNATURE + junk):
        doc, issues = png.document_from_png(variant)
        assert (doc is None) == bool(issues)


def test_cli_validate_reports_a_malformed_png(tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(png_with(chunk(b"iTXt", b"")))
    proc = subprocess.run([sys.executable, "-m", "graphrt", "validate", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    issues = json.loads(proc.stdout)["issues"]
    assert issues[0]["code"] == "invalid_document" and "iTXt" in issues[0]["message"]
