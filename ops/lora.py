"""model.lora* — LoRA files from <models>/loras applied to real SD 1.x / SDXL models.

`model.lora_model_only` patches the UNet and `model.lora_clip` the text encoders; `model.lora`
(LoraLoader) is a macro over both, so a node's key holds only what its output depends on: a
new strength_model re-runs the sampling but not the text encoding. Each patched value is a
new model sharing every unpatched tensor with its input (never mutated); its key is the
input's key + the file's identity + the strength (ops/models/lora/, layouts in `keys.py`).
Stack LoRAs by chaining nodes. Both strengths 0 returns the input itself without reading the
file (as ComfyUI). Toy models have no weights to patch: strength 0 passes them through, any
other strength is an error. A key that matches no layer is an error naming it; in
`lora_model_only` text-encoder keys, and in `lora_clip` UNet keys, are not this node's part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.hints import FileParam
from graphrt.core.op import Params, macro, op
from graphrt.core.paths import Folders

from .model import file_identity
from .types import Clip, Model

LORA_SUFFIXES = (".safetensors", ".pt", ".ckpt", ".bin")
LORA_FILE = FileParam("name", "models/loras", suffixes=LORA_SUFFIXES)
NAME = Field(min_length=1, max_length=1024, description="a file in <models>/loras")
STRENGTH = Field(1.0, ge=-100.0, le=100.0)
HASH = Field(False, description="key on the file's content hash, not size+mtime")


class LoraFile(Params):
    name: str = NAME
    hash_file: bool = HASH


class LoraModel(LoraFile):
    strength_model: float = STRENGTH


class LoraClip(LoraFile):
    strength_clip: float = STRENGTH


class Lora(LoraModel, LoraClip):
    pass


def _fingerprint(p: LoraFile, folders: Folders) -> Any:
    return file_identity(folders.file(LORA_FILE.folder, p.name), p.hash_file)


def _pairs(ctx: OpContext, name: str) -> list[Any]:
    from .models.lora.files import read_lora
    from .models.lora.keys import pairs

    path: Path = ctx.folders.file(LORA_FILE.folder, name)
    if not path.is_file():
        raise FileNotFoundError(f"no LoRA {name!r} in <models>/loras")
    try:
        return pairs(read_lora(path))
    except ValueError as err:
        raise type(err)(f"{name}: {err}") from None


def _layers(name: str, component: str, module: Any, found: list[Any], strength: float
            ) -> dict[str, Any]:
    from .models.lora.keys import LoraKeyError
    from .models.lora.patch import lora_weights

    try:
        return lora_weights(component, module, found, strength)
    except LoraKeyError as err:
        raise LoraKeyError(f"{name}: {err}") from None


def _toy(what: str) -> ValueError:
    return ValueError(f"{what} has no weights a LoRA can patch (a toy model); only strength "
                      f"0 passes it through")


@op("model.lora_model_only", version=1, fingerprint=_fingerprint, files=(LORA_FILE,),
    device=True)
def lora_model_only(p: LoraModel, model: Model, *, ctx: OpContext) -> Model:
    """Apply a LoRA's UNet part at strength_model (LoraLoaderModelOnly)."""
    if p.strength_model == 0:
        return model
    from .models.lora.patch import replace_params, unet_of, with_unet

    unet = unet_of(model)
    if unet is None:
        raise _toy("this MODEL")
    found = [x for x in _pairs(ctx, p.name) if x.component == "unet"]
    new = _layers(p.name, "unet", unet, found, p.strength_model)
    return with_unet(model, replace_params(unet, new)) if new else model


@op("model.lora_clip", version=1, fingerprint=_fingerprint, files=(LORA_FILE,), device=True)
def lora_clip(p: LoraClip, clip: Clip, *, ctx: OpContext) -> Clip:
    """Apply a LoRA's text-encoder part at strength_clip (the CLIP half of LoraLoader)."""
    if p.strength_clip == 0:
        return clip
    from .models.lora.patch import WHAT, encoders_of, replace_params, with_encoders

    encoders = encoders_of(clip)
    if not encoders:
        raise _toy("this CLIP")
    found = [x for x in _pairs(ctx, p.name) if x.component != "unet"]
    missing = next((x for x in found if x.component not in encoders), None)
    if missing is not None:
        from .models.lora.keys import LoraKeyError

        raise LoraKeyError(f"{p.name}: LoRA key {missing.key!r} is for a "
                           f"{WHAT[missing.component]}, which this CLIP does not have")
    patched = {}
    for component, module in encoders.items():
        new = _layers(p.name, component, module,
                      [x for x in found if x.component == component], p.strength_clip)
        if new:
            patched[component] = replace_params(module, new)
    return with_encoders(clip, patched) if patched else clip


class Patched(NamedTuple):
    model: Ref[Model]
    clip: Ref[Clip]


@macro("model.lora", version=1, files=(LORA_FILE,))
def lora(p: Lora, g: Builder, model: Ref[Model], clip: Ref[Clip]) -> Patched:
    """Apply a LoRA to a model and its text encoder (LoraLoader): `model.lora_model_only`
    and `model.lora_clip`, each keyed by its own strength."""
    common = {"name": p.name, "hash_file": p.hash_file}
    patched_model = g.add("model.lora_model_only", {**common, "strength_model": p.strength_model},
                          id="model", model=model).out
    patched_clip = g.add("model.lora_clip", {**common, "strength_clip": p.strength_clip},
                         id="clip", clip=clip).out
    return Patched(patched_model, patched_clip)

