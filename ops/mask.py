"""mask.* — MASK values: float [B,H,W] (or [H,W]) in [0,1]."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.hints import Cost
from graphrt.core.op import NoParams, Params, op

from .image import INPUT_IMAGE, Edges, input_fingerprint, input_path
from .types import Image, Latent, Mask

MAX_SIDE = 16384


class Grow(Params):
    overlap_factor: int = Field(10, ge=0, le=1000, description="window size k (impact) or "
                                "dilation radius source k//2 (exact)")
    units: Literal["mask", "latent"] = Field(
        "mask", description="'mask': k in the mask's own pixels (RegionalPrompt); 'latent': "
        "the mask is resampled to the latent grid first and k is in latent pixels "
        "(TwoAdvancedSamplersForMask)")
    mode: Literal["impact", "exact"] = Field(
        "impact", description="'impact' reproduces Impact Pack (swapped axes, asymmetric even "
        "kernels); 'exact' is a symmetric dilation on the right axes")


@op("mask.grow", version=1)
def grow(p: Grow, mask: Mask, latent: Latent | None = None) -> Mask:
    """Impact Pack's mask "erosion", which is really a dilation (docs/semantics.md §6)."""
    import torch.nn.functional as F

    from .kernels.imaging import grow_mask_exact, grow_mask_impact

    if p.units == "latent":
        if latent is None:
            raise ValueError("units='latent' needs the latent input")
        h, w = latent["samples"].shape[-2:]
    else:
        h, w = mask.shape[-2:]
    if p.mode == "impact":
        return grow_mask_impact(mask, p.overlap_factor, int(w), int(h))
    m = mask
    if (h, w) != tuple(mask.shape[-2:]):
        planes = mask.reshape(-1, 1, *mask.shape[-2:]).float()
        m = F.interpolate(planes, size=(int(h), int(w)), mode="bilinear", align_corners=False)
        m = m[:, 0] if mask.ndim >= 3 else m[0, 0]
    return grow_mask_exact(m, p.overlap_factor // 2)


@op("mask.invert", version=1)
def invert(p: NoParams, mask: Mask) -> Mask:
    """1 − mask."""
    return 1.0 - mask


class Threshold(Params):
    value: float = Field(0.5, ge=0.0, le=1.0)


@op("mask.threshold", version=1)
def threshold(p: Threshold, mask: Mask) -> Mask:
    """1 where mask > value, else 0."""
    return (mask > p.value).to(mask.dtype)


class Rect(Params):
    width: int = Field(512, ge=1, le=MAX_SIDE, description="mask width in pixels")
    height: int = Field(512, ge=1, le=MAX_SIDE)
    x: int = Field(0, ge=0, le=MAX_SIDE, description="rectangle left edge")
    y: int = Field(0, ge=0, le=MAX_SIDE)
    w: int = Field(256, ge=0, le=MAX_SIDE, description="rectangle width")
    h: int = Field(256, ge=0, le=MAX_SIDE)
    value: float = Field(1.0, ge=0.0, le=1.0)


def _rect_cost(p: Rect) -> Cost:
    return Cost(pixels=p.width * p.height)


@op("mask.rect", version=1, cost=_rect_cost)
def rect(p: Rect) -> Mask:
    """A [1,height,width] mask, `value` inside the rectangle and 0 elsewhere."""
    import torch

    m = torch.zeros(1, p.height, p.width)
    m[:, p.y : p.y + p.h, p.x : p.x + p.w] = p.value
    return m


class Load(Params):
    name: str = Field(min_length=1, max_length=1024, description="a file in <input>")
    channel: Literal["alpha", "red", "green", "blue"] = "alpha"


@op("mask.load", version=1, fingerprint=input_fingerprint, files=(INPUT_IMAGE,))
def load(p: Load, *, ctx: OpContext) -> Mask:
    """A mask from an image channel in the input folder (alpha: 1 − alpha, as LoadImageMask)."""
    from .kernels.imaging import read_png

    image, inverse_alpha, _ = read_png(input_path(ctx.folders, p.name))
    if p.channel == "alpha":
        return inverse_alpha
    return image[..., ("red", "green", "blue").index(p.channel)].contiguous()


class Solid(Params):
    value: float = Field(1.0, ge=0.0, le=1.0)
    width: int = Field(512, ge=1, le=MAX_SIDE)
    height: int = Field(512, ge=1, le=MAX_SIDE)


def _solid_cost(p: Solid) -> Cost:
    return Cost(pixels=p.width * p.height)


@op("mask.solid", version=1, cost=_solid_cost)
def solid(p: Solid) -> Mask:
    """A [1, height, width] mask of one value (SolidMask)."""
    import torch

    return torch.full((1, p.height, p.width), p.value, dtype=torch.float32)


class Feather(Edges):
    """Fade widths at each edge."""


@op("mask.feather", version=1)
def feather(p: Feather, mask: Mask) -> Mask:
    """Fade the edges linearly over the given widths (FeatherMask, with its off-by-one on the
    right and bottom: see kernels.comfy_masks.feather). [B, H, W]."""
    from .kernels.comfy_masks import feather as fade

    return fade(mask, p.left, p.top, p.right, p.bottom)


class GrowComfy(Params):
    expand: int = Field(0, ge=-MAX_SIDE, le=MAX_SIDE, description="pixels; < 0 shrinks")
    tapered_corners: bool = True


@op("mask.grow_comfy", version=1)
def grow_comfy(p: GrowComfy, mask: Mask) -> Mask:
    """Grey dilation (expand > 0) or erosion (< 0) by |expand| pixels, plus-shaped steps when
    tapered, square ones otherwise (GrowMask). Soft values are kept. [B, H, W]."""
    from .kernels.comfy_masks import grow as grow_mask

    return grow_mask(mask, p.expand, p.tapered_corners)


class Composite(Params):
    x: int = Field(0, ge=0, le=MAX_SIDE)
    y: int = Field(0, ge=0, le=MAX_SIDE)
    operation: Literal["multiply", "add", "subtract", "and", "or", "xor"] = "multiply"


@op("mask.composite", version=1)
def composite(p: Composite, destination: Mask, source: Mask) -> Mask:
    """Combine `source` into `destination` at (x, y), then clamp to [0, 1] (MaskComposite;
    and/or/xor on rounded values). [B, H, W]."""
    from .kernels.comfy_masks import composite as combine

    return combine(destination, source, p.x, p.y, p.operation)


class FromImage(Params):
    channel: Literal["red", "green", "blue", "alpha"] = "red"


@op("mask.from_image", version=1)
def from_image(p: FromImage, image: Image) -> Mask:
    """One channel of an image as a mask [B, H, W] (ImageToMask)."""
    index = ("red", "green", "blue", "alpha").index(p.channel)
    if index >= image.shape[-1]:
        raise ValueError(f"the image has {image.shape[-1]} channels, no {p.channel} channel")
    return image[..., index].clone()


@op("mask.to_image", version=1)
def to_image(p: NoParams, mask: Mask) -> Image:
    """A mask as a grey image [B, H, W, 3] (MaskToImage)."""
    return mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).movedim(1, -1) \
        .expand(-1, -1, -1, 3).contiguous()
