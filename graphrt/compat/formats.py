"""The document formats graphrt accepts besides its own, as `DocumentFormat`s.

- ComfyUI's API format (`{"3": {"class_type": "KSampler", ...}}`), translated to native ops
  (graphrt.compat.comfy.translate);
- ComfyUI's UI format (what the editor saves: a list of nodes with widget values, and a list
  of links), converted to the API format first (graphrt.compat.comfy.ui);
- PNG files that carry a graph: graphrt's own outputs (a "graphrt" text chunk: the graph, its
  args and overrides) and ComfyUI's (a "prompt" chunk), read without an image library.

Front ends hand `FORMATS` to the runtime; the core knows only the native format.
"""

from __future__ import annotations

from typing import Any

from graphrt.core.document import DocumentFormat
from graphrt.core.errors import Issue

from . import png
from .comfy import translate as comfy
from .comfy import ui


class _JsonFormat:
    """A format of parsed JSON documents (no container of its own to sniff or unpack)."""

    def sniff(self, raw: bytes) -> bool:
        return False

    def unpack(self, raw: bytes) -> tuple[dict[str, Any] | None, list[Issue]]:
        return None, []


class ComfyApiFormat(_JsonFormat):
    """ComfyUI's API-format prompt."""

    name = comfy.FORMAT_NAME

    def detect(self, data: dict[str, Any]) -> bool:
        return comfy.detect(data)

    def translate(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
        return comfy.translate(data)


class ComfyUiFormat(_JsonFormat):
    """ComfyUI's UI-format workflow (the editor's saved file, a PNG's "workflow" chunk)."""

    name = ui.FORMAT

    def detect(self, data: dict[str, Any]) -> bool:
        return ui.detect(data)

    def translate(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
        prompt, issues = ui.to_api(data)
        if prompt is None:
            return None, issues
        return comfy.translate(prompt)


class PngFormat:
    """A PNG written by graphrt or ComfyUI: the document it carries, ready to rerun."""

    name = "png"

    def sniff(self, raw: bytes) -> bool:
        return raw.startswith(png.SIGNATURE)

    def unpack(self, raw: bytes) -> tuple[dict[str, Any] | None, list[Issue]]:
        return png.document_from_png(raw)

    def detect(self, data: dict[str, Any]) -> bool:
        return False

    def translate(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
        return data, []


FORMATS: tuple[DocumentFormat, ...] = (PngFormat(), ComfyUiFormat(), ComfyApiFormat())


def is_comfy(data: dict[str, Any]) -> bool:
    """True for a ComfyUI prompt, in the API or the UI format."""
    return comfy.detect(data) or ui.detect(data)


def to_native(data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    """`data` in the native format, translated if it is in one of `FORMATS`."""
    from graphrt.core.document import to_native as convert

    return convert(data, FORMATS)
