"""The model function handed to a sampler: guidance (§1.5) and the noise mask (§5).

Conditioning follows ComfyUI: a list of `[context Tensor[1,T,D], dict]` entries whose
options (strength, mask, area, timestep range, y) conds.py reads; entries whose crops share
a shape are evaluated in ONE `DiffusionModel.denoise` call. A guided denoiser is called as
`D = fn(x, σ[B])`; `fn.pair(x, σ)` also returns the unconditional prediction D_u that
ComfyUI's post-CFG hook sees, which the CFG++ samplers step with (cfg_pp.py). Those samplers
need D_u at every step, so their denoisers never skip the uncond branch (ComfyUI's
disable_cfg1_optimization).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from .conds import Batch, Cond, lcm_tokens, to_batch
from .memo import IdentityMemo
from .model import DiffusionModel

__all__ = ["CFGDenoiser", "Cond", "DualCFGDenoiser", "MaskedDenoiser", "denoise_pair",
           "from_guider", "lcm_tokens", "resize_mask", "to_batch"]


def resize_mask(mask: torch.Tensor, shape: Any) -> torch.Tensor:
    """Any [..,h,w] mask → [B,C,H,W]: bilinear (align_corners=False, not rounded), §5.1."""
    m = mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).float()
    m = F.interpolate(m, size=tuple(shape[-2:]), mode="bilinear", align_corners=False)
    return to_batch(m.repeat(1, shape[1], 1, 1), shape[0])


_MASKS = IdentityMemo(16)


def latent_mask(mask: torch.Tensor, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(m, 1 − m): `resize_mask` to `latent`'s shape, device and dtype, computed once per
    mask tensor (a regional loop resizes the same masks at every step); never to be written
    in place."""
    def make() -> tuple[torch.Tensor, torch.Tensor]:
        m = resize_mask(mask.to(latent.device), latent.shape).to(latent.dtype)
        return m, 1.0 - m

    return _MASKS.get(mask, (tuple(latent.shape), latent.device, latent.dtype), make)


class CFGDenoiser:
    """x, σ[B] ↦ D_u + s(D_c − D_u) (ComfyUI's CFGGuider). The uncond branch is skipped (D_u
    = 0, so D = s·D_c) when math.isclose(s, 1), unless `always_uncond`.

    With D_u skipped (+0) or s ≥ 1, D is the same bits whether the predictions' zeros are
    signed or not (a −0 term meets +0 or a nonzero one, never −0 with −0), so the batch skips
    turning −0 into +0 unless the uncond prediction itself is used (`always_uncond`)."""

    def __init__(self, model: DiffusionModel, positive: Cond, negative: Cond, cfg: float,
                 *, always_uncond: bool = False) -> None:
        if not positive:
            raise ValueError("positive conditioning is empty")
        self.model, self.cfg = model, float(cfg)
        self.uncond = always_uncond or not math.isclose(self.cfg, 1.0)
        self.batch = Batch(model, [positive, negative], [True, self.uncond])
        self.percent_to_sigma = model.percent_to_sigma  # the schedule, for sa_solver
        self.zeros = always_uncond or (self.uncond and not self.cfg >= 1.0)

    def pair(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cond, uncond = self.batch(x, sigma, zeros=self.zeros)
        return _guide(cond, uncond, self.cfg), uncond

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **_: Any) -> torch.Tensor:
        cond, uncond = self.batch(x, sigma, zeros=self.zeros)  # `pair` inlined: once a step
        return _guide(cond, uncond, self.cfg)


def _guide(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """uncond + (cond − uncond)·scale, bit for bit, in one new buffer (no temporaries)."""
    out = cond - uncond
    out.mul_(scale)
    return torch.add(uncond, out, out=out)


class DualCFGDenoiser:
    """ComfyUI's DualCFGGuider over (cond1, cond2, negative) predictions (p, m, n).

    - "regular": D = n + cfg2·(m − n) + cfg1·(p − m); n is skipped (0) when cfg2 ≈ 1, and m
      too when cfg1 ≈ 1 as well (unless `always_uncond`); the uncond prediction is n.
    - "nested": D = n + cfg2·(m + cfg1·(p − m) − n), every branch evaluated; the uncond
      prediction is m (the inner guidance's).
    """

    def __init__(self, model: DiffusionModel, cond1: Cond, cond2: Cond, negative: Cond,
                 cfg1: float, cfg2: float, style: str = "regular", *,
                 always_uncond: bool = False) -> None:
        if style not in ("regular", "nested"):
            raise ValueError(f"unknown DualCFG style {style!r}")
        self.model, self.percent_to_sigma = model, model.percent_to_sigma
        self.cfg1, self.cfg2, self.nested = float(cfg1), float(cfg2), style == "nested"
        skip_n = not self.nested and not always_uncond and math.isclose(self.cfg2, 1.0)
        skip_m = skip_n and math.isclose(self.cfg1, 1.0)
        # ComfyUI lists the guider's conds as positive, middle, negative
        self.batch = Batch(model, [cond1, cond2, negative], [True, not skip_m, not skip_n])

    def pair(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p, m, n = self.batch(x, sigma)
        if self.nested:
            text = m + (p - m) * self.cfg1
            return n + self.cfg2 * (text - n), m
        return n + (m - n) * self.cfg2 + (p - m) * self.cfg1, n

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **_: Any) -> torch.Tensor:
        return self.pair(x, sigma)[0]


def from_guider(guider: Mapping[str, Any], *, always_uncond: bool = False) -> Any:
    """The guided denoiser a GUIDER value describes (ops/sample/custom.py)."""
    if guider.get("kind") == "dual_cfg":
        return DualCFGDenoiser(guider["model"], guider["positive"], guider["middle"],
                               guider["negative"], guider["cfg1"], guider["cfg2"],
                               guider.get("style", "regular"), always_uncond=always_uncond)
    return CFGDenoiser(guider["model"], guider["positive"], guider["negative"], guider["cfg"],
                       always_uncond=always_uncond)


def denoise_pair(model: Any, x: torch.Tensor, sigma: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(D, D_u) of a guided model function at σ (a scalar tensor), for the CFG++ samplers."""
    pair = getattr(model, "pair", None)
    if pair is None:
        raise TypeError("a CFG++ sampler needs a guided denoiser with an unconditional branch")
    out: tuple[torch.Tensor, torch.Tensor] = pair(x, sigma * x.new_ones([x.shape[0]]))
    return out


class MaskedDenoiser:
    """The KSamplerX0Inpaint wrapper (§5.2) around a model function `inner`.

    x_in = m⊙x + (1−m)⊙(L + s·ñ) and D′ = m⊙D(x_in, s) + (1−m)⊙L, at every evaluation; the
    unconditional prediction of `pair` is the inner one, unblended (as ComfyUI's hook sees it).
    """

    def __init__(
        self, inner: Any, mask: torch.Tensor, latent: torch.Tensor, noise: torch.Tensor
    ) -> None:
        self.inner, self.latent, self.noise = inner, latent, noise
        self.mask, self.keep = latent_mask(mask, latent)  # m and 1 − m
        self._kept: torch.Tensor | None = None  # (1 − m)⊙L, once the first blend needs it
        own = getattr(inner, "percent_to_sigma", None)
        if own is not None:
            self.percent_to_sigma = own

    def _input(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        s = sigma.reshape(-1, 1, 1, 1).to(x.dtype)
        return x * self.mask + (self.latent + s * self.noise) * self.keep

    def _blend(self, d: torch.Tensor) -> torch.Tensor:
        if self._kept is None:
            self._kept = self.latent * self.keep
        out: torch.Tensor = d * self.mask + self._kept
        return out

    def pair(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d, du = self.inner.pair(self._input(x, sigma), sigma)
        return self._blend(d), du

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **kw: Any) -> torch.Tensor:
        return self._blend(self.inner(self._input(x, sigma), sigma, **kw))
