"""Document formats: detection and translation to the native format.

The native format ("graphrt/1") passes through. Other formats (ComfyUI's API format) are
translated by a function registered with `register_format`; the ComfyUI translator plugs in
here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Issue

Translator = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, list[Issue]]]
Detector = Callable[[dict[str, Any]], bool]

_FORMATS: list[tuple[str, Detector, Translator]] = []


def register_format(name: str, detect: Detector, translate: Translator) -> None:
    """Add a foreign format; `translate` returns native data plus any issues."""
    _FORMATS.append((name, detect, translate))


def is_native(data: dict[str, Any]) -> bool:
    return "nodes" in data or "format" in data


def to_native(data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Translate `data` to the native format if it is in a registered foreign format."""
    if is_native(data):
        return data, []
    for _name, detect, translate in _FORMATS:
        if detect(data):
            return translate(data)
    if data and all(isinstance(v, dict) and "class_type" in v for v in data.values()):
        return None, [Issue(code="unsupported_format", message=(
            "this looks like a ComfyUI API-format workflow, which this build cannot translate"))]
    return data, []


def _register_builtin() -> None:
    from . import comfy

    register_format(comfy.FORMAT_NAME, comfy.detect, comfy.translate)


_register_builtin()
