"""model.load_vae — a separate VAE from <models>/vae (VAELoader).

SD 1.x and SDXL VAEs in the original single-file layout, bare or under a checkpoint's
`first_stage_model.` prefix (`models/real/vae_file.py`); `.safetensors`, pickles only with
weights_only. The result is a VAE port value on the run's device (float32: the two families'
VAEs cannot be told apart by shape, and SDXL's overflows in fp16). The key tracks the file's
identity (size and mtime, or its content hash with `hash_file`). The built-in toy model names
give the toy VAE, so toy graphs can use the node too.
"""

from __future__ import annotations

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
VAE_FILE = FileParam("name", "models/vae", builtin=TOY_MODELS, suffixes=VAE_SUFFIXES)


class LoadVae(Params):
    name: str = Field(min_length=1, max_length=1024, description="a file in <models>/vae, or "
                      + ", ".join(TOY_MODELS))
    hash_file: bool = Field(False, description="key on the file's content hash, not size+mtime")


def _fingerprint(p: LoadVae, folders: Folders) -> Any:
    if p.name in TOY_MODELS:
        return ["builtin", p.name]
    return file_identity(folders.file(VAE_FILE.folder, p.name), p.hash_file)


@op("model.load_vae", version=1, fingerprint=_fingerprint, files=(VAE_FILE,), device=True)
def load_vae(p: LoadVae, *, ctx: OpContext) -> Vae:
    """Load a VAE file (VAELoader) onto the run's device."""
    if p.name in TOY_MODELS:
        from .models.toy import ToyVae

        return ToyVae().to(ctx.device)
    path = ctx.folders.file(VAE_FILE.folder, p.name)
    if not path.is_file():
        raise FileNotFoundError(f"no VAE {p.name!r} in <models>/vae")
    from .models.real.vae_file import load_vae_file

    return load_vae_file(path, ctx.device)
