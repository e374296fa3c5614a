"""latent.* edits after ComfyUI's latent nodes: resizing, compositing, blending, batches,
and the inpainting encode.

Each op returns a new dict (a shallow copy of its first latent with what changed replaced),
as ComfyUI's nodes do; no op changes a tensor it was given.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from graphrt.core.hints import Cost
from graphrt.core.op import Params, op

from .types import Image, Latent, Mask, Vae

MAX_RESOLUTION = 16384  # ComfyUI's MAX_RESOLUTION
MIN_LATENT_UPSCALE = 64  # LatentUpscale raises a nonzero side below 64 pixels to 64
LatentMethod = Literal["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]


class Upscale(Params):
    method: LatentMethod = "nearest-exact"
    width: int = Field(512, ge=0, le=MAX_RESOLUTION, description="pixels; 0 keeps the aspect")
    height: int = Field(512, ge=0, le=MAX_RESOLUTION, description="pixels; 0 keeps the aspect")
    crop: Literal["disabled", "center"] = "disabled"


def _upscale_cost(p: Upscale) -> Cost:
    return Cost(pixels=max(p.width, MIN_LATENT_UPSCALE) * max(p.height, MIN_LATENT_UPSCALE))


@op("latent.upscale", version=1, cost=_upscale_cost)
def upscale(p: Upscale, latent: Latent) -> Latent:
    """Resize to (width, height) pixels, i.e. (width // 8, height // 8) latent pixels
    (LatentUpscale). Nonzero sides below 64 become 64; a 0 side keeps the aspect ratio
    (round(·), at least 64); both 0 return the latent unchanged."""
    from .kernels.bislerp import upscale_latent

    if p.width == 0 and p.height == 0:
        return latent
    samples = latent["samples"]
    h, w = samples.shape[-2:]
    width, height = max(MIN_LATENT_UPSCALE, p.width), max(MIN_LATENT_UPSCALE, p.height)
    if p.width == 0:
        width = max(MIN_LATENT_UPSCALE, round(w * height / h))
    elif p.height == 0:
        height = max(MIN_LATENT_UPSCALE, round(h * width / w))
    out = upscale_latent(samples, width // 8, height // 8, p.method, p.crop)
    return {**latent, "samples": out}


class UpscaleBy(Params):
    method: LatentMethod = "nearest-exact"
    scale_by: float = Field(1.5, ge=0.01, le=8.0)


@op("latent.upscale_by", version=1)
def upscale_by(p: UpscaleBy, latent: Latent) -> Latent:
    """Resize by a factor: sides round(side · scale_by) in latent pixels (LatentUpscaleBy)."""
    from .kernels.bislerp import upscale_latent

    samples = latent["samples"]
    h, w = samples.shape[-2:]
    width, height = round(w * p.scale_by), round(h * p.scale_by)
    return {**latent, "samples": upscale_latent(samples, width, height, p.method, "disabled")}


class Composite(Params):
    x: int = Field(0, ge=0, le=MAX_RESOLUTION, description="pixels")
    y: int = Field(0, ge=0, le=MAX_RESOLUTION, description="pixels")
    feather: int = Field(0, ge=0, le=MAX_RESOLUTION, description="pixels")


@op("latent.composite", version=1)
def composite(p: Composite, samples_to: Latent, samples_from: Latent) -> Latent:
    """Paste `samples_from` into `samples_to` at (x // 8, y // 8), clipped at the right and
    bottom (LatentComposite). With feather // 8 = f > 0, the f rows/columns along each side
    of the pasted part that does not touch the destination's edge fade in linearly."""
    from .kernels.comfy_masks import composite_feather

    x, y, feather = p.x // 8, p.y // 8, p.feather // 8
    dst = samples_to["samples"]
    out = dst.clone()
    h, w = dst.shape[-2:]
    if y >= h or x >= w:  # nothing of the source lands inside (ComfyUI may raise here)
        return {**samples_to, "samples": out}
    src = samples_from["samples"].to(dst.device)[..., : h - y, : w - x]
    sh, sw = src.shape[-2:]
    region = (..., slice(y, y + sh), slice(x, x + sw))
    if feather == 0:
        out[region] = src
    else:
        m = composite_feather((sh, sw), feather, top=y != 0, bottom=y + sh < h,
                              left=x != 0, right=x + sw < w, like=src)
        out[region] = src * m + out[region] * (1.0 - m)
    return {**samples_to, "samples": out}


class Blend(Params):
    blend_factor: float = Field(0.5, ge=0.0, le=1.0, description="the weight of samples1")


@op("latent.blend", version=1)
def blend(p: Blend, samples1: Latent, samples2: Latent) -> Latent:
    """samples1 · factor + samples2 · (1 − factor) (LatentBlend, "normal" mode); samples2 is
    first resized to samples1's size (bicubic, centre crop) when the shapes differ."""
    from .kernels.imaging import resize_planes

    a, b = samples1["samples"], samples2["samples"].to(samples1["samples"].device)
    if a.shape != b.shape:
        b = resize_planes(b, a.shape[-1], a.shape[-2], "bicubic", "center")
    return {**samples1, "samples": a * p.blend_factor + b * (1 - p.blend_factor)}


class FromBatch(Params):
    batch_index: int = Field(0, ge=0, le=63)
    length: int = Field(1, ge=1, le=64)


@op("latent.from_batch", version=1)
def from_batch(p: FromBatch, latent: Latent) -> Latent:
    """Entries [i, i + length) of the batch, i clamped to the last entry and the length to
    what is left (LatentFromBatch). A one-entry noise mask is kept whole, a shorter one is
    repeated to the batch first; batch_index is sliced, or set to i..i+length−1."""
    samples = latent["samples"]
    n = samples.shape[0]
    i = min(n - 1, p.batch_index)
    length = min(n - i, p.length)
    out: dict[str, Any] = {**latent, "samples": samples[i : i + length].clone()}
    if "noise_mask" in latent:
        masks = latent["noise_mask"]
        if masks.shape[0] == 1:
            out["noise_mask"] = masks.clone()
        else:
            if masks.shape[0] < n:
                masks = masks.repeat(math.ceil(n / masks.shape[0]), 1, 1, 1)[:n]
            out["noise_mask"] = masks[i : i + length].clone()
    if "batch_index" in latent:
        out["batch_index"] = list(latent["batch_index"][i : i + length])
    else:
        out["batch_index"] = list(range(i, i + length))
    return out


class RepeatBatch(Params):
    amount: int = Field(1, ge=1, le=64)


def _repeat_cost(p: RepeatBatch) -> Cost:
    return Cost(batch=p.amount)


@op("latent.repeat_batch", version=1, cost=_repeat_cost)
def repeat_batch(p: RepeatBatch, latent: Latent) -> Latent:
    """The whole batch `amount` times (RepeatLatentBatch). A noise mask of more than one
    entry is repeated as it is (ComfyUI computes a batch-sized copy and never uses it);
    batch_index continues past its span: b + k·(max − min + 1) for the k-th copy."""
    samples = latent["samples"]
    out: dict[str, Any] = {**latent, "samples": samples.repeat(p.amount, 1, 1, 1)}
    if "noise_mask" in latent and latent["noise_mask"].shape[0] > 1:
        out["noise_mask"] = latent["noise_mask"].repeat(p.amount, 1, 1, 1)
    if "batch_index" in latent:
        index = list(latent["batch_index"])
        offset = max(index) - min(index) + 1
        out["batch_index"] = index + [b + k * offset for k in range(1, p.amount) for b in index]
    return out


class EncodeForInpaint(Params):
    grow_mask_by: int = Field(6, ge=0, le=64, description="pixels the noise mask grows by")


@op("latent.encode_for_inpaint", version=1, device=True)
def encode_for_inpaint(p: EncodeForInpaint, vae: Vae, image: Image, mask: Mask) -> Latent:
    """Encode pixels with the masked part set to grey, plus a grown noise mask
    (VAEEncodeForInpaint).

    The mask is resized bilinearly to the image; both are cut centred to multiples of the
    VAE's factor; pixels where round(mask) = 1 become 0.5 in the first three channels. The
    noise mask, at pixel resolution [B, 1, H, W], is round(clamp(round(mask) ⊛ k×k box)) with
    k = grow_mask_by (an even k reaches one pixel further up and left), or round(mask) for 0.
    """
    import torch
    import torch.nn.functional as F

    from .kernels.comfy_masks import inpaint_grow

    factor = int(getattr(vae, "downscale", 8))
    h, w = image.shape[1], image.shape[2]
    hc, wc = h // factor * factor, w // factor * factor
    m = F.interpolate(mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).to(image.device),
                      size=(h, w), mode="bilinear")
    pixels = image
    if (hc, wc) != (h, w):
        top, left = (h % factor) // 2, (w % factor) // 2
        pixels = pixels[:, top : top + hc, left : left + wc]
        m = m[:, :, top : top + hc, left : left + wc]
    keep = (1.0 - m.round()).squeeze(1)[..., None]
    grey = (pixels[..., :3] - 0.5) * keep + 0.5
    if grey.shape[0] != pixels.shape[0]:
        raise ValueError(f"a mask batch of {m.shape[0]} does not fit an image batch of "
                         f"{pixels.shape[0]}")
    pixels = torch.cat([grey, pixels[..., 3:]], dim=-1)
    noise_mask = inpaint_grow(m, p.grow_mask_by)[:, :, :hc, :wc].round()
    return {"samples": vae.encode(pixels), "noise_mask": noise_mask}
