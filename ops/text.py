"""text.* — prompts to CONDITIONING.

CONDITIONING follows ComfyUI: a list of `[context [1,T,D], options]` entries; options hold
"pooled_output" and, for SDXL, the size/crop/target or aesthetic-score values the model's
added conditioning is built from. A text encoder that has `encode_sdxl` /
`encode_sdxl_refiner` (the real SDXL ones) builds those itself; the toy encoder reads the
words and the sizes are kept as options.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from graphrt.core.op import Params, op

from .types import Clip, Conditioning

MAX_SIZE = 16384


class Encode(Params):
    text: str = Field("", max_length=20_000, description="the prompt")


@op("text.encode", version=2, device=True)
def encode(p: Encode, clip: Clip) -> Conditioning:
    """Encode a prompt (CLIPTextEncode)."""
    if hasattr(clip, "encode_entry"):  # real encoders: SDXL ones add their ADM vector y
        return [list(clip.encode_entry(p.text))]
    context, pooled = clip.encode(p.text)
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


@op("text.encode_sdxl", version=2, device=True)
def encode_sdxl(p: EncodeSDXL, clip: Clip) -> Conditioning:
    """Encode for an SDXL base model (CLIPTextEncodeSDXL): both prompts plus size ids."""
    sizes = p.model_dump(exclude={"text_g", "text_l"})
    if hasattr(clip, "encode_sdxl"):
        return [list(clip.encode_sdxl(p.text_g, p.text_l, **sizes))]
    return [_toy_entry(clip, _join(p.text_g, p.text_l), sizes)]


class EncodeSDXLRefiner(Params):
    text: str = Field("", max_length=20_000)
    aesthetic_score: float = Field(6.0, ge=0.0, le=1000.0)
    width: int = Field(1024, ge=0, le=MAX_SIZE)
    height: int = Field(1024, ge=0, le=MAX_SIZE)


@op("text.encode_sdxl_refiner", version=2, device=True)
def encode_sdxl_refiner(p: EncodeSDXLRefiner, clip: Clip) -> Conditioning:
    """Encode for an SDXL refiner (CLIPTextEncodeSDXLRefiner): prompt plus aesthetic score."""
    sizes = p.model_dump(exclude={"text"})
    if hasattr(clip, "encode_sdxl_refiner"):
        return [list(clip.encode_sdxl_refiner(p.text, **sizes))]
    return [_toy_entry(clip, p.text, sizes)]


def _toy_entry(clip: Any, text: str, options: dict[str, Any]) -> list[Any]:
    context, pooled = clip.encode(text)
    return [context, {"pooled_output": pooled, **options}]


def _join(a: str, b: str) -> str:
    return a if not b or b == a else f"{a} {b}"
