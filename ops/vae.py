"""model.load_vae — a separate VAE from <models>/vae (VAELoader).

SD 1.x and SDXL VAEs in the original single-file layout, bare or under a checkpoint's
`first_stage_model.` prefix (`models/real/vae_file.py`); `.safetensors`, pickles only with
weights_only. The result is a VAE port value on the run's device (float32: the two families'
VAEs cannot be told apart by shape, and SDXL's overflows in fp16). The key tracks the file's
identity (size and mtime, or its content hash with `hash_file`). The built-in toy model names
give the toy VAE, so toy graphs can use the node too.

`taesd` and `taesdxl` name TAESD, the tiny autoencoder, from a pair of files in
<models>/vae_approx (`taesd_encoder.*` + `taesd_decoder.*`, resp. `taesdxl_…`), offered as
choices only while both are there, as ComfyUI's VAELoader does; the key holds both files'
identities. Its latents are in the full VAE's space (docs/models.md § TAESD).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.hints import FileParam
from graphrt.core.op import Params, op
from graphrt.core.paths import Folders

from .model import file_identity
from .models.builtin import TOY_MODELS
from .types import Vae

VAE_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin")
APPROX = "models/vae_approx"
TAESD = {"taesd": (0.18215, 0.0), "taesdxl": (0.13025, 0.0)}  # name → (latent scale, shift)


def taesd_files(folders: Folders, name: str) -> tuple[Path, Path]:
    """(encoder, decoder) of TAESD `name` in <models>/vae_approx: the first file (sorted) named
    `<name>_encoder.*`, resp. `<name>_decoder.*`; FileNotFoundError names a missing one."""
    folder = folders.folder(APPROX)
    files = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    found = []
    for part in ("encoder", "decoder"):
        prefix = f"{name}_{part}."
        match = [f for f in files if f.startswith(prefix)
                 and Path(f).suffix.lower() in VAE_SUFFIXES and (folder / f).is_file()]
        if not match:
            raise FileNotFoundError(f"{name}: no {part} file {prefix}* ({', '.join(VAE_SUFFIXES)})"
                                    f" in <models>/vae_approx")
        found.append(folder / match[0])
    return found[0], found[1]


def taesd_names(folders: Folders) -> list[str]:
    """The TAESD names whose encoder and decoder are both in <models>/vae_approx."""
    names = []
    for name in TAESD:
        try:
            taesd_files(folders, name)
        except (FileNotFoundError, ValueError):
            continue
        names.append(name)
    return names


VAE_FILE = FileParam("name", "models/vae", builtin=TOY_MODELS, suffixes=VAE_SUFFIXES,
                     derived=taesd_names)


class LoadVae(Params):
    name: str = Field(min_length=1, max_length=1024, description="a file in <models>/vae, "
                      + ", ".join(TAESD) + " (a pair in <models>/vae_approx), or "
                      + ", ".join(TOY_MODELS))
    hash_file: bool = Field(False, description="key on the file's content hash, not size+mtime")


def _fingerprint(p: LoadVae, folders: Folders) -> Any:
    if p.name in TOY_MODELS:
        return ["builtin", p.name]
    if p.name in TAESD:
        pair = taesd_files(folders, p.name)
        return ["taesd", p.name, *([f.name, *file_identity(f, p.hash_file)] for f in pair)]
    return file_identity(folders.file(VAE_FILE.folder, p.name), p.hash_file)


@op("model.load_vae", version=1, fingerprint=_fingerprint, files=(VAE_FILE,), device=True)
def load_vae(p: LoadVae, *, ctx: OpContext) -> Vae:
    """Load a VAE file (VAELoader) onto the run's device."""
    if p.name in TOY_MODELS:
        from .models.toy import ToyVae

        return ToyVae().to(ctx.device)
    if p.name in TAESD:
        from .models.real.taesd import load_taesd

        return load_taesd(*taesd_files(ctx.folders, p.name), *TAESD[p.name], ctx.device)
    path = ctx.folders.file(VAE_FILE.folder, p.name)
    if not path.is_file():
        raise FileNotFoundError(f"no VAE {p.name!r} in <models>/vae")
    from .models.real.vae_file import load_vae_file

    return load_vae_file(path, ctx.device)
