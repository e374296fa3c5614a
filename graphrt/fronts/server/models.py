"""The model folders the server knows, their files, and a safetensors file's metadata.

A folder is known when an op declares a file param in it (`FileParam("name",
"models/checkpoints", builtin=…, suffixes=…)`), when it exists under <models>, or is
"embeddings" (ComfyUI always lists it). Its names are the ops' built-in ones (the toy
models) followed by its files with the declared suffixes (any file when none is declared).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphrt.compat.comfy.object_info import list_files
from graphrt.core.paths import Folders, confined
from graphrt.core.registry import Registry

MODEL_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl")
MAX_HEADER = 8 * 1024 * 1024  # bytes of safetensors header read for /view_metadata


@dataclass
class ModelFolder:
    """One folder under <models>: built-in names, and which files it lists."""

    builtin: list[str] = field(default_factory=list)
    suffixes: set[str] | None = field(default_factory=set)  # None: any file (none declared)

    def names(self, path: Path) -> list[str]:
        suffixes = () if self.suffixes is None else tuple(sorted(self.suffixes))
        return list(dict.fromkeys([*self.builtin, *list_files(path, suffixes)]))


def model_folders(registry: Registry, folders: Folders) -> dict[str, ModelFolder]:
    """Folder name (e.g. "checkpoints") → what it holds, sorted by name."""
    known: dict[str, ModelFolder] = {"embeddings": ModelFolder(suffixes=set(MODEL_SUFFIXES))}
    for spec in registry:
        for fp in spec.files:
            if not fp.folder.startswith("models/"):
                continue
            entry = known.setdefault(fp.folder.removeprefix("models/"), ModelFolder())
            entry.builtin.extend(b for b in fp.builtin if b not in entry.builtin)
            if entry.suffixes is not None:
                entry.suffixes = entry.suffixes | set(fp.suffixes) if fp.suffixes else None
    if folders.models.is_dir():
        for sub in folders.models.iterdir():
            if sub.is_dir() and not sub.name.startswith("."):
                known.setdefault(sub.name, ModelFolder(suffixes=set(MODEL_SUFFIXES)))
    return dict(sorted(known.items()))


def safetensors_metadata(path: Path) -> dict[str, Any] | None:
    """The `__metadata__` of a safetensors file's header, or None (no file, no metadata, or
    not a safetensors header)."""
    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 2 <= size <= MAX_HEADER:
                return None
            header = json.loads(f.read(size))
    except (OSError, ValueError, RecursionError):
        return None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else None


def model_file(folders: Folders, folder: str, name: str) -> Path:
    """A file in <models>/<folder>; raises UnsafePath (graphrt.core.paths.confined)."""
    return confined(folders.models / folder, name)
