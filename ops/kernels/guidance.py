"""The model function handed to a sampler: batched CFG (§1.5) and the noise mask (§5).

Conditioning follows ComfyUI: a list of `[context Tensor[1,T,D], dict]` entries; the dict
may hold "pooled_output", "mask" ([H,W] or [M,H,W]), "strength" (default 1) and "y"
(an ADM vector [1,P], passed to the model). Every entry of both branches, for the whole
batch, is evaluated in ONE `DiffusionModel.denoise` call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .model import DiffusionModel

Cond = Sequence[Sequence[Any]]  # [[context, {…}], …]


def to_batch(t: torch.Tensor, batch: int) -> torch.Tensor:
    """Tile or truncate dim 0 to `batch` (ComfyUI repeat_to_batch_size)."""
    if t.shape[0] > batch:
        return t[:batch]
    if t.shape[0] < batch:
        return t.repeat(math.ceil(batch / t.shape[0]), *([1] * (t.ndim - 1)))[:batch]
    return t


def resize_mask(mask: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Any [..,h,w] mask → [B,C,H,W]: bilinear (align_corners=False, not rounded), §5.1."""
    m = mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).float()
    m = F.interpolate(m, size=tuple(shape[-2:]), mode="bilinear", align_corners=False)
    return to_batch(m.repeat(1, shape[1], 1, 1), shape[0])


def _lcm_tokens(contexts: list[torch.Tensor]) -> list[torch.Tensor]:
    """Repeat token rows to a common length (attention over k identical copies is unchanged)."""
    lengths = {c.shape[1] for c in contexts}
    if len(lengths) == 1:
        return contexts
    n = math.lcm(*lengths)
    return [c.repeat(1, n // c.shape[1], 1) for c in contexts]


class CFGDenoiser:
    """x, σ[B] ↦ D_u + s(D_c − D_u), each branch Σ D_i w_i / (Σ w_i + 1e-37), one model call.

    The uncond branch is skipped when math.isclose(s, 1) (then D = D_c).
    """

    def __init__(self, model: DiffusionModel, positive: Cond, negative: Cond, cfg: float) -> None:
        if not positive:
            raise ValueError("positive conditioning is empty")
        self.model, self.cfg = model, float(cfg)
        self.uncond = not math.isclose(self.cfg, 1.0)
        self.entries = [(e, 0) for e in positive] + [(e, 1) for e in negative if self.uncond]
        self._cache: tuple[Any, Any] | None = None

    def _prepared(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, list[Any]]:
        """(context batch, y batch, weights) for x's batch, device and dtype — constant over
        a run, so built once per shape. Weights are None for an entry with strength 1 and no
        mask that is alone in its branch: its D is used as is (Σ D·1 / (1 + 1e-37) = D)."""
        key = (tuple(x.shape), x.device, x.dtype)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._prepare(x))
        return self._cache[1]

    def _prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, list[Any]]:
        b = x.shape[0]
        ctx = _lcm_tokens([c.to(x.device, x.dtype) for (c, _), _b in self.entries])
        context = torch.cat([to_batch(c, b) for c in ctx])
        ys = [opts.get("y") for (_, opts), _b in self.entries]
        if any(y is None for y in ys) and any(y is not None for y in ys):
            raise ValueError("either every conditioning entry carries 'y' or none does")
        y = None
        if ys[0] is not None:
            y = torch.cat([to_batch(v.to(x.device, x.dtype), b) for v in ys])
        per_branch = [sum(1 for _e, br in self.entries if br == k) for k in (0, 1)]
        weights: list[Any] = []
        for (_, opts), branch in self.entries:
            strength, mask = float(opts.get("strength", 1.0)), opts.get("mask")
            if per_branch[branch] == 1 and strength == 1.0 and mask is None:
                weights.append(None)
                continue
            w = torch.full((1, 1, 1, 1), strength, device=x.device)
            if mask is not None:
                w = w * resize_mask(mask.to(x.device), x.shape)
            weights.append(w.to(x.dtype))
        return context, y, weights

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **_: Any) -> torch.Tensor:
        e = len(self.entries)
        context, y, weights = self._prepared(x)
        d_all = self.model.denoise(x.repeat(e, 1, 1, 1), sigma.repeat(e), context, y).chunk(e)
        num: list[Any] = [None, None]
        den: list[Any] = [1e-37, 1e-37]
        for d, w, (_entry, branch) in zip(d_all, weights, self.entries, strict=True):
            if w is None:  # the only entry of its branch, strength 1, no mask
                num[branch], den[branch] = d, None
            else:
                num[branch] = d * w if num[branch] is None else num[branch] + d * w
                den[branch] = den[branch] + w
        cond: torch.Tensor = num[0] if den[0] is None else num[0] / den[0]
        if not self.uncond:
            return cond
        uncond: torch.Tensor = num[1] if den[1] is None else num[1] / den[1]
        return uncond + (cond - uncond) * self.cfg


class MaskedDenoiser:
    """The KSamplerX0Inpaint wrapper (§5.2) around a model function `inner`.

    x_in = m⊙x + (1−m)⊙(L + s·ñ) and D′ = m⊙D(x_in, s) + (1−m)⊙L, at every evaluation.
    """

    def __init__(
        self, inner: Any, mask: torch.Tensor, latent: torch.Tensor, noise: torch.Tensor
    ) -> None:
        self.inner, self.latent, self.noise = inner, latent, noise
        self.mask = resize_mask(mask.to(latent.device), latent.shape).to(latent.dtype)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **kw: Any) -> torch.Tensor:
        m, keep = self.mask, 1.0 - self.mask
        s = sigma.reshape(-1, 1, 1, 1).to(x.dtype)
        x_in = x * m + (self.latent + s * self.noise) * keep
        out: torch.Tensor = self.inner(x_in, sigma, **kw) * m + self.latent * keep
        return out
