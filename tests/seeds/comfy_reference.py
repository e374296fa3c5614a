"""ComfyUI's sampler calls written out as plain loops, for noise mode "comfy" tests.

Nothing here uses graphrt's noise code or sampler table: the noise is ONE torch.Generator per
call (seeded seed + 1 on CPU, seed on CUDA; draw k is the k-th randn of x's shape) and
ComfyUI's Brownian tree (torchsde.BrownianTree over [min positive σ, max σ] as float32 tensors
on CPU, w0 = zeros, entropy = seed; queried with sorted float32 CPU times, the increment
divided by √|Δσ|), as docs/reproducibility.md describes them. The solvers follow
k-diffusion / current ComfyUI (docs/semantics.md §14); CFG is graphrt's `CFGDenoiser` (its
semantics are tested elsewhere), the inpaint wrapper is §5.2 written out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torchsde

from graphrt.ops.kernels.guidance import CFGDenoiser, resize_mask
from graphrt.ops.kernels.steps import step_range

Noise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ANCESTRAL = ("euler_ancestral", "dpm_2_ancestral", "dpmpp_2s_ancestral")
SDE = ("dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde")


def generator_noise(x: torch.Tensor, seed: int) -> Noise:
    """ComfyUI's default_noise_sampler: one generator for the whole call."""
    gen = torch.Generator(device=x.device)
    # seed + 1 past 2⁶⁴ − 1 wraps to 0 (ComfyUI's manual_seed raises there)
    gen.manual_seed((seed + 1) % 2**64 if x.device.type == "cpu" else seed)
    return lambda s, t: torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=gen)


def tree_noise(x: torch.Tensor, span: torch.Tensor, seed: int) -> Noise:
    """ComfyUI's BrownianTreeNoiseSampler(x, min positive σ, max σ, seed, cpu=True)."""
    lo, hi = span[span > 0].min().cpu(), span.max().cpu()
    tree = torchsde.BrownianTree(lo, torch.zeros(x.shape), hi, entropy=seed)

    def sample(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, b = (s, t) if s < t else (t, s)
        with warnings.catch_warnings():  # queries outside [lo, hi] are clamped (and warned)
            warnings.simplefilter("ignore", UserWarning)
            w = tree(a.cpu().float(), b.cpu().float()).to(x.device) * (1 if s < t else -1)
        return w / (t - s).abs().sqrt()

    return sample


def _ancestral(s: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    up = torch.minimum(t, (t**2 * (s**2 - t**2) / s**2) ** 0.5)
    return (t**2 - up**2) ** 0.5, up


def run(name: str, model: Any, x: torch.Tensor, sig: torch.Tensor, noise: Noise,
        x0s: list[torch.Tensor]) -> torch.Tensor:
    """Sampler `name` over `sig` from x; every step's denoised goes to `x0s`."""
    one = x.new_ones([x.shape[0]])
    old: list[torch.Tensor] = []
    hs: list[torch.Tensor] = []
    for i in range(len(sig) - 1):
        s, t = sig[i], sig[i + 1]
        d = model(x, s * one)
        x0s.append(d)
        if name == "dpmpp_2m":  # recovery sampler of Impact's loops
            h = t.log().neg() - s.log().neg() if t > 0 else None
            if t == 0 or not old:
                x = t / s * x - (-h).expm1() * d if t > 0 else d
            else:
                r = (s.log().neg() - sig[i - 1].log().neg()) / h
                x = t / s * x - (-h).expm1() * ((1 + 1 / (2 * r)) * d - 1 / (2 * r) * old[-1])
            old.append(d)
            continue
        if name in ANCESTRAL:
            down, up = _ancestral(s, t)
            if down == 0:
                x = d if name == "euler_ancestral" else x + (x - d) / s * (down - s)
            elif name == "euler_ancestral":
                x = x + (x - d) / s * (down - s) + noise(s, t) * up
            elif name == "dpm_2_ancestral":
                mid = s.log().lerp(down.log(), 0.5).exp()
                x2 = x + (x - d) / s * (mid - s)
                x = x + (x2 - model(x2, mid * one)) / mid * (down - s) + noise(s, t) * up
            else:  # dpmpp_2s_ancestral, in t = −ln σ
                lt, ln = s.log().neg(), down.log().neg()
                h = ln - lt
                lm = lt + h / 2
                x2 = (lm.neg().exp() / lt.neg().exp()) * x - (-h / 2).expm1() * d
                d2 = model(x2, lm.neg().exp() * one)
                x = (ln.neg().exp() / lt.neg().exp()) * x - (-h).expm1() * d2
            if name == "dpmpp_2s_ancestral" and t > 0:
                x = x + noise(s, t) * up
            continue
        if t == 0:  # every SDE solver: the last step to 0 returns D
            x = d
            old, hs = [d, *old], [torch.tensor(0.0), *hs]
            continue
        ls, lt = s.log().neg(), t.log().neg()
        h = lt - ls
        if name == "dpmpp_sde":  # ComfyUI's form: noise queried at σ_i and σ_s
            l1 = ls + h / 2
            s1 = l1.neg().exp()
            a_s, a_1, a_t = s * ls.exp(), s1 * l1.exp(), t * lt.exp()
            down, up = _ancestral(ls.neg().exp(), l1.neg().exp())
            hh = down.log().neg() - ls
            x2 = (a_1 / a_s) * (-hh).exp() * x - a_1 * (-hh).expm1() * d + a_1 * noise(s, s1) * up
            d2 = model(x2, s1 * one)
            down, up = _ancestral(ls.neg().exp(), lt.neg().exp())
            hh = down.log().neg() - ls
            x = (a_t / a_s) * (-hh).exp() * x - a_t * (-hh).expm1() * d2  # r = 1/2: D₂ only
            x = x + a_t * noise(s, t) * up
            continue
        eh = 2 * h  # eta 1
        decay = (-eh).exp() if name == "dpmpp_3m_sde" else t / s * (-h).exp()
        x = decay * x + (-eh).expm1().neg() * d
        if name == "dpmpp_2m_sde" and old:
            x = x + 0.5 * (-eh).expm1().neg() * (1 / (hs[0] / h)) * (d - old[0])
        if name == "dpmpp_3m_sde" and len(old) >= 2:
            r0, r1 = hs[0] / h, hs[1] / h
            d10, d11 = (d - old[0]) / r0, (old[0] - old[1]) / r1
            p2 = eh.neg().expm1() / eh + 1
            x = x + p2 * (d10 + (d10 - d11) * r0 / (r0 + r1)) - (p2 / eh - 0.5) * (
                (d10 - d11) / (r0 + r1))
        elif name == "dpmpp_3m_sde" and old:
            x = x + (eh.neg().expm1() / eh + 1) * ((d - old[0]) / (hs[0] / h))
        x = x + noise(s, t) * t * (-2 * h).expm1().neg().sqrt()
        old, hs = [d, *old], [h, *hs]
    return x


def _noise(name: str, x: torch.Tensor, sig: torch.Tensor, seed: int,
           span: torch.Tensor | None) -> Noise:
    if name in SDE:
        return tree_noise(x, sig if span is None else span, seed)
    return generator_noise(x, seed)


def initial_noise(shape: Any, seed: int) -> torch.Tensor:
    """prepare_noise without batch_index: one float32 draw of a CPU generator seeded `seed`."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def call(stage: tuple[Any, Any, Any], latent: torch.Tensor, sig: torch.Tensor, *, seed: int,
         cfg: float, sampler: str, noise: torch.Tensor, mask: torch.Tensor | None = None,
         span: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One ComfyUI sampler call (comfy.samplers.sample): (samples, last x0), raw units."""
    model, pos, neg = stage
    k = model.latent_scale
    z = latent * k if torch.count_nonzero(latent) > 0 else latent
    cfg_fn = CFGDenoiser(model, pos, neg, cfg)
    fn: Any = cfg_fn
    if mask is not None:
        m = resize_mask(mask, z.shape)

        def fn(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            x_in = x * m + (z + s.reshape(-1, 1, 1, 1) * noise) * (1 - m)
            return cfg_fn(x_in, s) * m + z * (1 - m)

    first = float(sig[0])
    smax = model.sigma_max
    c = torch.sqrt(1.0 + sig[0] ** 2) if math.isclose(smax, first, rel_tol=1e-5) \
        or first > smax else sig[0]
    x = noise * c + z
    x0s: list[torch.Tensor] = []
    out = run(sampler, fn, x, sig, _noise(sampler, x, sig, seed, span), x0s)
    return out / k, x0s[-1] / k


def ksampler(stage: tuple[Any, Any, Any], latent: torch.Tensor, *, seed: int, steps: int,
             cfg: float, sampler: str, scheduler: str, start: int | None = None,
             end: int | None = None, add_noise: bool = True, force_full: bool = True,
             denoise: float = 1.0) -> torch.Tensor:
    """common_ksampler: one call over KSampler's σ list (docs/semantics.md §3)."""
    sig = step_range(sampler, scheduler, steps, denoise=denoise, start=start, end=end,
                     force_full_denoise=force_full)
    if not sig:
        return latent
    noise = initial_noise(latent.shape, seed).to(latent.device) if add_noise \
        else torch.zeros_like(latent)
    sigmas = torch.tensor(sig, dtype=torch.float32, device=latent.device)
    return call(stage, latent, sigmas, seed=seed, cfg=cfg, sampler=sampler, noise=noise)[0]
