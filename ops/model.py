"""model.* — loading checkpoints and upscale models.

Names resolve inside the configured models folder (<models>/checkpoints,
<models>/upscale_models), never outside it. The built-in toy checkpoints
(`models.builtin.TOY_MODELS`) resolve by name anywhere. Loaded models are live objects: they stay
in the memory cache and are never written to disk. Keys track the file's identity (size and
mtime, or its full content hash with `hash_file`), not just its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.hints import FileParam
from graphrt.core.op import Params, op
from graphrt.core.paths import Folders

from .models.builtin import TOY_MODELS
from .types import Clip, Model, UpscaleModel, Vae

CHECKPOINT_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin")
UPSCALER_SUFFIXES = (".safetensors", ".pth", ".pt")
CHECKPOINT_FILE = FileParam("name", "models/checkpoints", builtin=TOY_MODELS,
                            suffixes=CHECKPOINT_SUFFIXES)
UPSCALER_FILE = FileParam("name", "models/upscale_models", suffixes=UPSCALER_SUFFIXES)


class Checkpoint(NamedTuple):
    model: Model
    clip: Clip
    vae: Vae


class LoadCheckpoint(Params):
    name: str = Field(min_length=1, max_length=1024, description=", ".join(TOY_MODELS)
                      + ", or a file in <models>/checkpoints")
    hash_file: bool = Field(False, description="key on the file's content hash, not size+mtime")


def file_identity(path: Path, hash_file: bool) -> list[Any]:
    """What identifies a model file in cache keys."""
    stat = path.stat()
    if not hash_file:
        return [stat.st_size, stat.st_mtime_ns]
    import xxhash

    h = xxhash.xxh3_128()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return [stat.st_size, h.hexdigest()]


def _checkpoint_fingerprint(p: LoadCheckpoint, folders: Folders) -> Any:
    if p.name in TOY_MODELS:
        return ["builtin", p.name]
    return file_identity(folders.file(CHECKPOINT_FILE.folder, p.name), p.hash_file)


@op("model.load_checkpoint", version=2, fingerprint=_checkpoint_fingerprint,
    files=(CHECKPOINT_FILE,), device=True)
def load_checkpoint(p: LoadCheckpoint, *, ctx: OpContext) -> Checkpoint:
    """Load a checkpoint: MODEL (denoiser), CLIP (text encoder) and VAE, on the run's device
    in the run's dtype."""
    if p.name in TOY_MODELS:
        from .models.toy import load_toy

        return Checkpoint(*load_toy(p.name, device=ctx.device))
    path = ctx.folders.file(CHECKPOINT_FILE.folder, p.name)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {p.name!r} in <models>/checkpoints")
    from .models.real import load_file  # SD 1.x / SDXL base / refiner single files

    return Checkpoint(*load_file(path, ctx.device, ctx.dtype))


class LoadUpscaler(Params):
    name: str = Field(min_length=1, max_length=1024,
                      description="a file in <models>/upscale_models (.pth or .safetensors)")
    hash_file: bool = False


def _upscaler_fingerprint(p: LoadUpscaler, folders: Folders) -> Any:
    return file_identity(folders.file(UPSCALER_FILE.folder, p.name), p.hash_file)


@op("model.load_upscaler", version=2, fingerprint=_upscaler_fingerprint,
    files=(UPSCALER_FILE,), device=True)
def load_upscaler(p: LoadUpscaler, *, ctx: OpContext) -> UpscaleModel:
    """Load an ESRGAN-family upscale model through spandrel (pickles only with weights_only)
    onto the run's device."""
    from .models.upscale import load_upscale_model

    return load_upscale_model(ctx.folders.file(UPSCALER_FILE.folder, p.name), ctx.device)
