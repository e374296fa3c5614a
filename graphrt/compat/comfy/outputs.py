"""ComfyUI's shape of a prompt's results: which nodes are outputs, and what they made.

History entries and `executed` messages list, per output node, the files it saved as
{"filename", "subfolder", "type": "output"}.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from graphrt.core.document import is_native


def output_nodes(prompt: dict[str, Any]) -> dict[str, str]:
    """Output name → node id: native outputs name their node; ComfyUI outputs are node ids."""
    outputs = prompt.get("outputs")
    if isinstance(outputs, dict) and is_native(prompt):
        return {k: str(v).rpartition(".")[0] or str(k) for k, v in outputs.items()}
    return {k: k for k, v in prompt.items() if isinstance(v, dict)}


def ui_outputs(prompt: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """ComfyUI's history/`executed` outputs: saved files as {filename, subfolder, type}."""
    nodes = output_nodes(prompt)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            continue
        images = [{"filename": PurePosixPath(v).name, "subfolder": str(PurePosixPath(v).parent)
                   if "/" in v else "", "type": "output"} for v in value]
        out.setdefault(nodes.get(name, name), {}).setdefault("images", []).extend(images)
    return out
