"""Textual-inversion embeddings from <models>/embeddings (docs/prompts.md §3).

A name resolves as ComfyUI resolves it: `<folder>/name`, else `name` + .safetensors, .pt or
.bin, tried in the folder and then in each of its subfolders (sorted); never outside the
folder. `.safetensors` files are read with safetensors; any other file with
`torch.load(weights_only=True)`, so a pickle holding more than tensors and plain containers is
refused, unexecuted (`UnsafePickle`). The vectors for an encoder: a file's
`string_to_param` entry (A1111 .pt), else its tensors of the encoder's width when it is a list,
else its entry named for the encoder (`clip_l`, `clip_g`), else its `bundle_emb.*` entries,
else its first tensor; as [n, D] rows. Keys hold each referenced file's size and content
hash (`fingerprint`), so an edited embedding re-encodes and a missing one is keyed as missing.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from graphrt.core.paths import UnsafePath, confined

from .syntax import embedding_names

FOLDER = "models/embeddings"
SUFFIXES = (".safetensors", ".pt", ".bin")
SAFETENSORS = (".safetensors", ".sft")


class UnsafePickle(ValueError):
    """An embedding pickle that holds more than tensors (it was not executed)."""


def find(folder: Path, name: str) -> Path | None:
    """The file `name` stands for in `folder` or a subfolder, or None."""
    if not name or not folder.is_dir():
        return None
    found = _find_in(folder, folder, name)
    if found is not None:
        return found
    subfolders = sorted(Path(root) for root, _, _ in os.walk(folder))
    return next((p for d in subfolders if d != folder
                 if (p := _find_in(folder, d, name)) is not None), None)


def _find_in(folder: Path, base: Path, name: str) -> Path | None:
    try:
        path = confined(base, name)
    except UnsafePath:
        return None
    for candidate in (path, *(path.with_name(path.name + s) for s in SUFFIXES)):
        if candidate.is_file() and folder.resolve() in candidate.resolve().parents:
            return candidate
    return None


def identity(folder: Path, path: Path) -> list[Any]:
    """[path inside the folder, size, xxh3_128 of the bytes] of an embedding file."""
    import xxhash

    digest = xxhash.xxh3_128()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    inside = path.resolve().relative_to(folder.resolve()).as_posix()
    return [inside, path.stat().st_size, digest.hexdigest()]


def fingerprint(texts: Iterable[str], folder: Path) -> list[Any] | None:
    """What the embeddings named in `texts` add to a key: per name, its file's identity or
    None when missing; None when no text names one."""
    names = {name: None for text in texts for name in embedding_names(text)}
    if not names:
        return None
    out: list[Any] = []
    for name in names:
        path = find(folder, name)
        out.append([name, identity(folder, path) if path is not None else None])
    return out


def read(path: Path) -> Any:
    """The contents of an embedding file (tensors on the CPU)."""
    if path.suffix.lower() in SAFETENSORS:
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafePickle(f"embedding {path.name}: refused to load: this pickle holds more "
                           f"than tensors (read with weights_only=True; nothing in it was "
                           f"run): {str(err).splitlines()[0]}") from None


def vectors(data: Any, key: str, width: int) -> Any:
    """The [n, D] vectors of a file's contents for the encoder `key` of width `width`."""
    import torch

    found: Any = None
    if isinstance(data, dict) and isinstance(data.get("string_to_param"), dict):
        found = next(iter(data["string_to_param"].values()), None)
    elif isinstance(data, list):
        rows = [t.reshape(-1, width) for item in data if isinstance(item, dict)
                for t in item.values() if torch.is_tensor(t) and t.shape[-1] == width]
        found = torch.cat(rows) if rows else None
    elif isinstance(data, dict) and key in data:
        found = data[key]
    elif isinstance(data, dict):
        found = _bundled(data, ".string_to_param.*")
        if found is None:
            found = _bundled(data, f".{key}")
        if found is None:
            found = next((v for v in data.values() if torch.is_tensor(v)), None)
    elif torch.is_tensor(data):
        found = data
    if not torch.is_tensor(found) or found.ndim == 0:
        return None
    return found.detach().float().reshape(-1, found.shape[-1])


def _bundled(data: dict[str, Any], suffix: str) -> Any:
    import torch

    rows = [v for k, v in data.items() if k.startswith("bundle_emb.") and k.endswith(suffix)]
    return torch.cat(rows) if rows else None


class Embeddings:
    """The embeddings folder as one encoding reads it: files read once, each warning once.

    `warn(message)` is told of names that find no file and of vectors that do not fit an
    encoder; both are left out of the prompt, as ComfyUI does."""

    def __init__(self, folder: Path, warn: Callable[[str], None] | None = None) -> None:
        self.folder, self._warn = folder, warn
        self._files: dict[str, Any] = {}
        self._warned: set[str] = set()

    def warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            if self._warn is not None:
                self._warn(message)

    def missing(self, name: str) -> None:
        self.warn(f"embedding:{name} does not exist in <models>/embeddings; ignored")

    def lookup(self, key: str, width: int) -> Callable[[str], Any]:
        """name → the [n, D] vectors for encoder `key` of width `width`, or None if no file."""

        def get(name: str) -> Any:
            path = find(self.folder, name)
            if path is None:
                return None
            if str(path) not in self._files:
                try:
                    self._files[str(path)] = read(path)
                except UnsafePickle:
                    raise
                except Exception as err:  # a damaged file: name it
                    raise ValueError(f"embedding {path.name}: cannot be read: {err}") from err
            found = vectors(self._files[str(path)], key, width)
            if found is None:
                raise ValueError(f"embedding {path.name}: no embedding vectors in it")
            return found

        return get
