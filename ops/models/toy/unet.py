"""The toy UNet: the exact posterior-mean denoiser of a per-prompt Gaussian mixture.

Each batch row's context (read back by `clip.read_context`) names a scene. Its data
distribution in latent space (the toy VAE's units, `vae.py`) is a mixture of isotropic
Gaussians N(μ_k, s²I) with equal weights, where μ_k is the scene rendered at the latent's own
resolution (shapes anti-aliased by 4×4 supersampling, painted in prompt order over the
background colour, default neutral grey) and k runs over the placements of the objects whose
position is open: one component per free anchor among left, right, top, bottom, center (the
open objects take consecutive free anchors). The unconditional distribution (no objects, no
background) is one grey Gaussian N(0, S²I), broader than the scenes (S > s).

Given σ, the denoiser is the exact posterior mean
    D(x, σ) = a·x + (1 − a)·Σ_k r_k μ_k,  a = s²/(s² + σ²),  r = softmax_k(−‖x − μ_k‖²/2(s² + σ²)),
served through the EPS interface: σ is recovered from the (possibly fractional) timestep by
the log-linear table interpolation, x = x_in·√(σ² + 1), and ε = (x − D)/σ.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import torch

from ...kernels.table import sigma_table
from .clip import read_context
from .prompt import Scene, parse_words
from .vae import rgb_to_latent
from .vocab import ANCHORS, COLOURS, DEFAULT_BACKGROUND, POSITIONS, SIZES

SUPERSAMPLE = 4


def placements(scene: Scene) -> list[tuple[str, ...]]:
    """Per mixture component, the anchor of each object (open objects cycle the free anchors)."""
    fixed = [o.position for o in scene.objects]
    open_idx = [i for i, p in enumerate(fixed) if p is None]
    if not open_idx:
        return [tuple(p for p in fixed if p is not None)]
    free = [a for a in POSITIONS if a not in fixed] or list(POSITIONS)
    out = []
    for k in range(len(free)):
        pos = list(fixed)
        for j, i in enumerate(open_idx):
            pos[i] = free[(k + j) % len(free)]
        out.append(tuple(p for p in pos if p is not None))
    return list(dict.fromkeys(out))


def coverage(shape: str, cx: float, cy: float, r: float, h: int, w: int) -> torch.Tensor:
    """Fraction [h, w] of each pixel inside `shape` centred at (cx, cy) px with radius r px."""
    ss = SUPERSAMPLE
    ys = (torch.arange(h * ss, dtype=torch.float64) + 0.5) / ss - cy
    xs = (torch.arange(w * ss, dtype=torch.float64) + 0.5) / ss - cx
    dy, dx = ys[:, None], xs[None, :]
    if shape == "circle":
        inside = dx * dx + dy * dy <= r * r
    elif shape == "square":
        half = r * math.sqrt(math.pi) / 2  # same area as the circle
        inside = (dx.abs() <= half) & (dy.abs() <= half)
    elif shape == "triangle":  # equilateral, apex up, circumradius 1.4·r
        big = 1.4 * r
        verts = [(0.0, -big), (big * math.sqrt(3) / 2, big / 2), (-big * math.sqrt(3) / 2, big / 2)]
        inside = torch.ones(h * ss, w * ss, dtype=torch.bool)
        for (x0, y0), (x1, y1) in zip(verts, verts[1:] + verts[:1], strict=True):
            inside &= (x1 - x0) * (dy - y0) - (y1 - y0) * (dx - x0) >= 0
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return inside.to(torch.float64).reshape(h, ss, w, ss).mean(dim=(1, 3))


def render(scene: Scene, anchors: tuple[str, ...], h: int, w: int) -> torch.Tensor:
    """The scene with objects at `anchors`, as a latent mean [4, h, w] (float64)."""
    bg = COLOURS[scene.background] if scene.background else DEFAULT_BACKGROUND
    img = torch.tensor(bg, dtype=torch.float64)[:, None, None].expand(3, h, w)
    for obj, anchor in zip(scene.objects, anchors, strict=True):
        ax, ay = ANCHORS[anchor]
        cov = coverage(obj.shape, ax * w, ay * h, SIZES[obj.size] * min(h, w), h, w)
        colour = torch.tensor(COLOURS[obj.colour], dtype=torch.float64)[:, None, None]
        img = img * (1 - cov) + colour * cov
    return rgb_to_latent(img)


def posterior_mean(
    x: torch.Tensor, sigma: torch.Tensor, means: torch.Tensor, spread: float
) -> torch.Tensor:
    """E[x0 | x] for x0 ~ (1/K)Σ_k N(μ_k, s²I), x = x0 + σn: x [n, P], σ [n], means [K, P]."""
    var = spread * spread + sigma[:, None] * sigma[:, None]
    if means.shape[0] == 1:
        mixed = means.expand_as(x)
    else:
        d2 = (x[:, None, :] - means[None]).square().sum(dim=-1)
        mixed = torch.softmax(-d2 / (2 * var), dim=1) @ means
    a = spread * spread / var
    return a * x + (1 - a) * mixed


class ToyUNet:
    """The `Net` of the toy family: ε̂(c_in·x, t, context) of the exact mixture denoiser."""

    def __init__(
        self,
        spread: float = 0.1,
        uncond_spread: float = 0.2,
        table: tuple[float, ...] | None = None,
        cache_size: int = 64,
    ) -> None:
        self.spread = spread
        self.uncond_spread = uncond_spread
        self.log_table = torch.tensor(table or sigma_table(), dtype=torch.float64).log()
        self.cache_size = cache_size
        self.device = torch.device("cpu")
        self._cache: OrderedDict[tuple[Any, ...], tuple[torch.Tensor, float]] = OrderedDict()

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """σ(t): ln σ interpolated linearly between ⌊t⌋ and ⌊t⌋+1 (float64, t's device)."""
        logs = self.log_table.to(t.device)
        tt = t.to(torch.float64).clamp(0, len(logs) - 1)
        lo = tt.floor().long()
        hi = (lo + 1).clamp(max=len(logs) - 1)
        frac = tt - lo
        return ((1 - frac) * logs[lo] + frac * logs[hi]).exp()

    def mixture(
        self, words: tuple[str, ...], h: int, w: int, device: torch.device, dtype: torch.dtype
    ) -> tuple[torch.Tensor, float]:
        """(means [K, 4·h·w], spread) of the prompt `words` at latent size h×w (cached)."""
        key = (words, h, w, str(device), dtype)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        scene = parse_words(words)
        if scene.unconditional:
            means, spread = torch.zeros(1, 4 * h * w, dtype=torch.float64), self.uncond_spread
        else:
            layouts = placements(scene)
            means = torch.stack([render(scene, a, h, w).reshape(-1) for a in layouts])
            spread = self.spread
        entry = (means.to(device=device, dtype=dtype), spread)
        self._cache[key] = entry
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return entry

    def __call__(
        self,
        x_in: torch.Tensor,
        t: torch.Tensor,
        context: torch.Tensor,
        y: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """ε̂ for a batch x_in [N, 4, h, w], t [N], context [N, T, D]; `y` is ignored."""
        n, c, h, w = x_in.shape
        if c != 4:
            raise ValueError(f"toy UNet expects 4 latent channels, got {c}")
        dtype = torch.promote_types(x_in.dtype, torch.float32)  # half would overflow ‖x − μ‖²
        sigma = self.sigma(t).to(dtype)
        x = x_in.to(dtype) * (sigma * sigma + 1).sqrt()[:, None, None, None]
        flat = x.reshape(n, -1)
        groups: dict[tuple[str, ...], list[int]] = {}
        prompts = read_context(context)
        if n % len(prompts):
            raise ValueError(f"context batch {len(prompts)} does not divide latent batch {n}")
        for i in range(n):  # a smaller context batch repeats, as ComfyUI repeats conds
            groups.setdefault(prompts[i % len(prompts)], []).append(i)
        denoised = torch.empty_like(flat)
        for words, rows in groups.items():
            means, spread = self.mixture(words, h, w, x.device, x.dtype)
            if len(rows) == n:
                denoised = posterior_mean(flat, sigma, means, spread)
            else:
                idx = torch.tensor(rows, device=x.device)
                denoised[idx] = posterior_mean(flat[idx], sigma[idx], means, spread)
        eps = (x - denoised.reshape(x.shape)) / sigma[:, None, None, None]
        return eps.to(x_in.dtype)

    def to(self, device: Any) -> ToyUNet:
        """Record the preferred device; means are cached per device on use (returns self)."""
        self.device = torch.device(device)
        return self
