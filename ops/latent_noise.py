"""latent.* — noise as a latent, ComfyUI_Noise's nodes (BlenderNeko/ComfyUI_Noise 0c9ec19,
nodes.py; facts, not code), used for seed variations: draw a noise latent, duplicate one
batch element, slerp it towards other noise, inject it scaled by the noise level between two
steps (`sigmas.get_sigma`, BNK_GetSigma), then sample with add_noise off.

- `latent.noisy` (BNK_NoisyLatentImage): a standard-normal [B,4,H/8,W/8] float32 draw from a
  generator seeded with `seed`, on CPU ("CPU") or on the run's device ("GPU": ComfyUI draws on
  its torch device after torch.manual_seed, i.e. that device's default stream).
- `latent.duplicate_index` (BNK_DuplicateBatchIndex): element min(batch_index, B − 1)
  repeated `batch_size` times; the other keys pass through unchanged.
- `latent.slerp` (BNK_SlerpLatent): per batch element, the flattened latents1 and latents2
  are slerped: sin((1−f)ω)/sin ω·a + sin(fω)/sin ω·b with ω the angle between them (NaN
  components of a zero vector's direction count as 0); through a mask (resized bilinearly to
  the latent, not rounded), mask·slerp + (1−mask)·latents1. Without latents2, or with a shape
  that differs, latents1 comes back unchanged (ComfyUI only prints a warning).
- `latent.inject_noise` (BNK_InjectNoise): latents + strength·noise, through a mask as
  above; without noise, or with a shape that differs, latents unchanged. `strength` may come
  from a FLOAT link (a converted widget), which then replaces the param.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.hints import Cost
from graphrt.core.op import Params, op
from graphrt.core.types import Float

from .latent import MAX_BATCH, Empty, empty_cost
from .sample.params import SEED_MAX
from .types import Latent, Mask

if TYPE_CHECKING:
    import torch


class Noisy(Empty):
    """An empty latent's size, and where and from which seed its noise is drawn."""

    source: Literal["CPU", "GPU"] = "CPU"
    seed: int = Field(0, ge=0, le=SEED_MAX)


@op("latent.noisy", version=1, cost=empty_cost, device=True)
def noisy(p: Noisy, *, ctx: OpContext) -> Latent:
    """Gaussian noise of [batch, 4, height/8, width/8] from `seed` (BNK_NoisyLatentImage)."""
    import torch

    device = "cpu" if p.source == "CPU" else ctx.device
    gen = torch.Generator(device=device).manual_seed(p.seed)
    shape = (p.batch, 4, p.height // 8, p.width // 8)
    noise = torch.randn(shape, dtype=torch.float32, device=device, generator=gen)
    return {"samples": noise.to(ctx.device)}


class DuplicateIndex(Params):
    batch_index: int = Field(0, ge=0, le=MAX_BATCH - 1)
    batch_size: int = Field(1, ge=1, le=MAX_BATCH)


def _duplicate_cost(p: DuplicateIndex) -> Cost:
    return Cost(batch=p.batch_size)


@op("latent.duplicate_index", version=1, cost=_duplicate_cost)
def duplicate_index(p: DuplicateIndex, latents: Latent) -> Latent:
    """One element of the batch, `batch_size` times (BNK_DuplicateBatchIndex)."""
    samples = latents["samples"]
    i = min(samples.shape[0] - 1, p.batch_index)
    return {**latents, "samples": samples[i:i + 1].clone().repeat(p.batch_size, 1, 1, 1)}


def _through_mask(mask: Mask | None, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """mask·new + (1 − mask)·old, the mask resized bilinearly to the latent (prepare_mask)."""
    if mask is None:
        return new
    from .kernels.guidance import resize_mask

    m = resize_mask(mask, new.shape).to(new.device, new.dtype)
    return m * new + (1 - m) * old


def _direction(v: torch.Tensor) -> torch.Tensor:
    """v/‖v‖ per row, NaN (a zero row) replaced by 0."""
    import torch

    d = v / v.norm(dim=1, keepdim=True)
    return torch.where(d.isnan(), torch.zeros_like(d), d)


class Slerp(Params):
    factor: float = Field(0.5, ge=0.0, le=1.0)


@op("latent.slerp", version=1)
def slerp(p: Slerp, latents1: Latent, latents2: Latent | None = None,
          mask: Mask | None = None) -> Latent:
    """Spherical interpolation from latents1 (factor 0) to latents2 (factor 1), per batch
    element (BNK_SlerpLatent)."""
    import torch

    if latents2 is None or latents1["samples"].shape != latents2["samples"].shape:
        return dict(latents1)
    a, b = latents1["samples"], latents2["samples"].to(latents1["samples"].device)
    low, high = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    omega = torch.acos((_direction(low) * _direction(high)).sum(1))
    so = torch.sin(omega)
    out = ((torch.sin((1.0 - p.factor) * omega) / so).unsqueeze(1) * low
           + (torch.sin(p.factor * omega) / so).unsqueeze(1) * high).reshape(a.shape)
    return {**latents1, "samples": _through_mask(mask, out, a)}


class InjectNoise(Params):
    strength: float = Field(1.0, ge=0.0, le=200.0)


@op("latent.inject_noise", version=1)
def inject_noise(p: InjectNoise, latents: Latent, noise: Latent | None = None,
                 mask: Mask | None = None, strength: Float | None = None) -> Latent:
    """latents + strength·noise, optionally through a mask (BNK_InjectNoise); a linked
    `strength` replaces the param."""
    if noise is None or latents["samples"].shape != noise["samples"].shape:
        return dict(latents)
    a = latents["samples"]
    scale = p.strength if strength is None else float(strength)
    out = a + noise["samples"].to(a.device, a.dtype) * scale
    return {**latents, "samples": _through_mask(mask, out, a)}
