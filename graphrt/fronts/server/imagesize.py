"""An image file's width and height, read from its header: nothing is decoded.

PNG, JPEG, GIF, BMP and WebP are read here, from at most a bounded number of header bytes;
any other format Pillow knows is opened lazily (Pillow reads only the header until asked
for pixels). `None` when the file is not an image or its header cannot be read, so a small
file declaring a huge image is measured, and refused, before anything decodes it.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

Size = tuple[int, int]
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
MAX_JPEG_SEGMENTS = 1000


def image_size(path: Path) -> Size | None:
    """(width, height) of the image at `path` from its header, or None."""
    try:
        with open(path, "rb") as f:
            return read_size(f)
    except OSError:
        return None


def read_size(f: BinaryIO) -> Size | None:
    """(width, height) of the image a seekable binary file holds, from its header, or None."""
    try:
        f.seek(0)
        size = _sniffed(f.read(32), f)
    except (OSError, struct.error, ValueError):
        return None
    return size if size is not None else _pillow(f)


def _sniffed(head: bytes, f: BinaryIO) -> Size | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return w, h
    if head[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", head[6:10])
        return w, h
    if head.startswith(b"BM") and len(head) >= 26:
        if struct.unpack("<I", head[14:18])[0] == 12:
            w, h = struct.unpack("<HH", head[18:22])
            return w, h
        w, h = struct.unpack("<ii", head[18:26])
        return abs(w), abs(h)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp(head + f.read(8))
    if head.startswith(b"\xff\xd8"):
        return _jpeg(f)
    return None


def _webp(head: bytes) -> Size | None:
    chunk, data = head[12:16], head[20:30]
    if chunk == b"VP8X" and len(data) >= 10:
        return (int.from_bytes(data[4:7], "little") + 1, int.from_bytes(data[7:10], "little") + 1)
    if chunk == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[6:10])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _jpeg(f: BinaryIO) -> Size | None:
    f.seek(2)
    for _ in range(MAX_JPEG_SEGMENTS):
        marker = f.read(2)
        while len(marker) == 2 and marker[0] == 0xFF and marker[1] == 0xFF:  # fill bytes
            marker = marker[1:] + f.read(1)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:  # no length
            continue
        (length,) = struct.unpack(">H", f.read(2))
        if marker[1] in JPEG_SOF:
            h, w = struct.unpack(">xHH", f.read(5))
            return w, h
        if length < 2:
            return None
        f.seek(length - 2, 1)
    return None


def _pillow(f: BinaryIO) -> Size | None:
    try:
        from PIL import Image

        f.seek(0)
        with Image.open(f) as image:  # reads the header only
            w, h = image.size
            return int(w), int(h)
    except Exception:  # not an image, or one Pillow refuses even to open: unmeasured
        return None
