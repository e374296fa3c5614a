"""latent.* — LATENT values: {"samples": [B,4,H/8,W/8] raw VAE units, "noise_mask"?, ...}.

Every op returns a new dict (a shallow copy with what changed replaced), so cached inputs
are never touched.
"""

from __future__ import annotations

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.hints import Cost
from graphrt.core.op import NoParams, Params, op

from .types import Image, Latent, Mask, Vae

MAX_PIXELS_SIDE = 16384
MAX_BATCH = 4096


class Empty(Params):
    width: int = Field(512, ge=16, le=MAX_PIXELS_SIDE, multiple_of=8)
    height: int = Field(512, ge=16, le=MAX_PIXELS_SIDE, multiple_of=8)
    batch: int = Field(1, ge=1, le=MAX_BATCH)


def empty_cost(p: Empty) -> Cost:
    return Cost(pixels=p.width * p.height, batch=p.batch)


@op("latent.empty", version=2, cost=empty_cost, device=True)
def empty(p: Empty, *, ctx: OpContext) -> Latent:
    """Zeros of [batch, 4, height/8, width/8] on the run's device (EmptyLatentImage)."""
    import torch

    return {"samples": torch.zeros(p.batch, 4, p.height // 8, p.width // 8, device=ctx.device)}


@op("latent.encode", version=2, device=True)
def encode(p: NoParams, vae: Vae, image: Image) -> Latent:
    """Encode pixels [B,H,W,3] in [0,1] with the VAE (VAEEncode); sizes crop to multiples of 8."""
    return {"samples": vae.encode(image)}


@op("latent.decode", version=2, device=True)
def decode(p: NoParams, vae: Vae, latent: Latent) -> Image:
    """Decode a latent to pixels [B,H,W,3] in [0,1] (VAEDecode)."""
    return vae.decode(latent["samples"])


@op("latent.set_noise_mask", version=1)
def set_noise_mask(p: NoParams, latent: Latent, mask: Mask) -> Latent:
    """Attach a noise mask: sampling changes the latent only where the mask is 1 (soft masks
    blend) (SetLatentNoiseMask)."""
    return {**latent, "noise_mask": mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1])}


class CompositeMasked(Params):
    x: int = Field(0, ge=-MAX_PIXELS_SIDE, le=MAX_PIXELS_SIDE, description="pixels")
    y: int = Field(0, ge=-MAX_PIXELS_SIDE, le=MAX_PIXELS_SIDE, description="pixels")
    resize_source: bool = False


@op("latent.composite_masked", version=1)
def composite_masked(p: CompositeMasked, destination: Latent, source: Latent,
                     mask: Mask | None = None) -> Latent:
    """Paste `source` into `destination` at (x, y) pixels through an optional soft mask
    (LatentCompositeMasked)."""
    from .kernels.imaging import composite_masked as paste

    samples = paste(destination["samples"], source["samples"], p.x, p.y, mask,
                    multiplier=8, resize_source=p.resize_source)
    return {**destination, "samples": samples}
