"""The folders a run may read and write, and name resolution confined to them.

Three roots: <models> (one subfolder per kind of model, e.g. <models>/checkpoints), <input>
and <output>; ops declare which folder each file param names ("models/<kind>", "input",
"output"). Set by arguments, or GRAPHRT_MODELS_DIR, GRAPHRT_INPUT_DIR, GRAPHRT_OUTPUT_DIR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class UnsafePath(ValueError):
    """A file name that would leave its folder, or is otherwise not acceptable."""


def _env_dir(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or default).expanduser()


@dataclass(frozen=True)
class Folders:
    """Where models are read from, inputs are read from, and outputs are written."""

    models: Path = field(default_factory=lambda: _env_dir("GRAPHRT_MODELS_DIR", "models"))
    input: Path = field(default_factory=lambda: _env_dir("GRAPHRT_INPUT_DIR", "input"))
    output: Path = field(default_factory=lambda: _env_dir("GRAPHRT_OUTPUT_DIR", "output"))

    def folder(self, name: str) -> Path:
        """A folder by its declared name: "input", "output" or "models/<kind>"."""
        if name == "input":
            return self.input
        if name == "output":
            return self.output
        kind = name.removeprefix("models/")
        if name.startswith("models/") and kind and "/" not in kind and kind != "..":
            return self.models / kind
        raise ValueError(f"unknown folder {name!r}: input, output or models/<kind>")

    def file(self, folder: str, name: str) -> Path:
        """`name` inside the declared folder `folder`; raises UnsafePath if it would leave."""
        return confined(self.folder(folder), name)


def confined(folder: Path, name: str) -> Path:
    """`folder/name`, refusing names that are absolute, contain NUL or '..', or escape `folder`."""
    if not name or "\x00" in name or len(name) > 255 * 4:
        raise UnsafePath(f"invalid file name {name!r}")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ":" in parts[0] or any(p in ("..",) for p in parts):
        raise UnsafePath(f"file name {name!r} leaves its folder {str(folder)!r}")
    base = folder.resolve()
    path = (base / "/".join(p for p in parts if p not in ("", "."))).resolve()
    if path != base and base not in path.parents:
        raise UnsafePath(f"file name {name!r} leaves its folder {str(folder)!r}")
    return path
