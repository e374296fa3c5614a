"""text.* — prompts to CONDITIONING.

CONDITIONING follows ComfyUI: a list of `[context [1,T,D], options]` entries; options hold
"pooled_output" and, for SDXL, the size/crop/target or aesthetic-score values the model's
added conditioning is built from. A text encoder that has `encode_sdxl` /
`encode_sdxl_refiner` (the real SDXL ones) builds those itself; the toy encoder reads the
words and the sizes are kept as options.

Prompts are read with ComfyUI's syntax and maths on every encoder (docs/prompts.md): weights
`(text:1.2)`, `(text)` = ×1.1, nesting, `\\(` escapes, 75-token chunks, and `embedding:name`
from <models>/embeddings. A name that finds no file is a warning event naming it and is left
out. Keys hold the size and content hash of each embedding file a prompt names (or that it is
missing), so an edited, added or removed embedding re-encodes.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.op import Params, op
from graphrt.core.paths import Folders

from .types import Clip, Conditioning

MAX_SIZE = 16384


def _embeddings(ctx: OpContext) -> Any:
    from .prompt.embeddings import FOLDER, Embeddings

    return Embeddings(ctx.folders.folder(FOLDER), ctx.warn)


def _fingerprint(*fields: str) -> Any:
    """The identities of the embedding files the prompt params `fields` name (None: none)."""

    def fingerprint(p: Params, folders: Folders) -> Any:
        from .prompt.embeddings import FOLDER
        from .prompt.embeddings import fingerprint as identify

        return identify([getattr(p, f) for f in fields], folders.folder(FOLDER))

    return fingerprint


class Encode(Params):
    text: str = Field("", max_length=20_000, description="the prompt: (text:1.2) weights, "
                      "embedding:name (docs/prompts.md)")


@op("text.encode", version=3, device=True, fingerprint=_fingerprint("text"))
def encode(p: Encode, clip: Clip, *, ctx: OpContext) -> Conditioning:
    """Encode a prompt (CLIPTextEncode)."""
    embeddings = _embeddings(ctx)
    if hasattr(clip, "encode_entry"):  # real encoders: SDXL ones add their ADM vector y
        return [list(clip.encode_entry(p.text, embeddings))]
    context, pooled = clip.encode(p.text, embeddings)
    return [[context, {"pooled_output": pooled}]]


class EncodeSDXL(Params):
    text_g: str = Field("", max_length=20_000)
    text_l: str = Field("", max_length=20_000)
    width: int = Field(1024, ge=0, le=MAX_SIZE)
    height: int = Field(1024, ge=0, le=MAX_SIZE)
    crop_w: int = Field(0, ge=0, le=MAX_SIZE)
    crop_h: int = Field(0, ge=0, le=MAX_SIZE)
    target_width: int = Field(1024, ge=0, le=MAX_SIZE)
    target_height: int = Field(1024, ge=0, le=MAX_SIZE)


@op("text.encode_sdxl", version=3, device=True, fingerprint=_fingerprint("text_g", "text_l"))
def encode_sdxl(p: EncodeSDXL, clip: Clip, *, ctx: OpContext) -> Conditioning:
    """Encode for an SDXL base model (CLIPTextEncodeSDXL): both prompts plus size ids."""
    sizes = p.model_dump(exclude={"text_g", "text_l"})
    embeddings = _embeddings(ctx)
    if hasattr(clip, "encode_sdxl"):
        return [list(clip.encode_sdxl(p.text_g, p.text_l, **sizes, embeddings=embeddings))]
    return [_toy_entry(clip, _join(p.text_g, p.text_l), sizes, embeddings)]


class EncodeSDXLRefiner(Params):
    text: str = Field("", max_length=20_000)
    aesthetic_score: float = Field(6.0, ge=0.0, le=1000.0)
    width: int = Field(1024, ge=0, le=MAX_SIZE)
    height: int = Field(1024, ge=0, le=MAX_SIZE)


@op("text.encode_sdxl_refiner", version=3, device=True, fingerprint=_fingerprint("text"))
def encode_sdxl_refiner(p: EncodeSDXLRefiner, clip: Clip, *, ctx: OpContext) -> Conditioning:
    """Encode for an SDXL refiner (CLIPTextEncodeSDXLRefiner): prompt plus aesthetic score."""
    sizes = p.model_dump(exclude={"text"})
    embeddings = _embeddings(ctx)
    if hasattr(clip, "encode_sdxl_refiner"):
        return [list(clip.encode_sdxl_refiner(p.text, **sizes, embeddings=embeddings))]
    return [_toy_entry(clip, p.text, sizes, embeddings)]


def _toy_entry(clip: Any, text: str, options: dict[str, Any], embeddings: Any) -> list[Any]:
    context, pooled = clip.encode(text, embeddings)
    return [context, {"pooled_output": pooled, **options}]


def _join(a: str, b: str) -> str:
    return a if not b or b == a else f"{a} {b}"
