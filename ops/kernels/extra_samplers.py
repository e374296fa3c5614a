"""Samplers ComfyUI adds to k-diffusion (docs/semantics.md §14.2): heunpp2, ddpm, lcm.

Same signature as k-diffusion's: `sample_x(model, x, sigmas, callback=None, noise_sampler=None)`
with `model(x, σ[B]) -> D`; the callback receives k-diffusion's dict (i, x, sigma, denoised).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

ModelFn = Callable[..., torch.Tensor]
NoiseSampler = Callable[[Any, Any], torch.Tensor]
Callback = Callable[[dict[str, Any]], None] | None


def _eval(model: ModelFn, x: torch.Tensor, sigma: float) -> torch.Tensor:
    return model(x, x.new_full([x.shape[0]], sigma))


def _report(cb: Callback, i: int, x: torch.Tensor, sigma: float, denoised: torch.Tensor) -> None:
    if cb is not None:
        cb({"x": x, "i": i, "sigma": sigma, "sigma_hat": sigma, "denoised": denoised})


@torch.no_grad()
def sample_heunpp2(
    model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None
) -> torch.Tensor:
    """Heun++: x += dt·Σ w_k d_k over σ_i, σ_{i+1}, σ_{i+2} with w = σ/(3σ₀) for the last two.

    Near the range end it falls back to Heun (w₂ = σ_{i+1}/(2σ₀)) and then to Euler. σ₀ and
    the end are those of THIS list, so the sampler is range dependent (not split-invariant).
    """
    s = sigmas.tolist()
    first, end = s[0], s[-1]
    for i in range(len(s) - 1):
        denoised = _eval(model, x, s[i])
        _report(callback, i, x, s[i], denoised)
        d = (x - denoised) / s[i]
        dt = s[i + 1] - s[i]
        if s[i + 1] == end:  # Euler
            x = x + d * dt
            continue
        x2 = x + d * dt
        d2 = (x2 - _eval(model, x2, s[i + 1])) / s[i + 1]
        if s[i + 2] == end:  # Heun, weighted by σ_{i+1}/(2σ₀)
            w2 = s[i + 1] / (2 * first)
            x = x + ((1 - w2) * d + w2 * d2) * dt
            continue
        x3 = x2 + d2 * (s[i + 2] - s[i + 1])
        d3 = (x3 - _eval(model, x3, s[i + 2])) / s[i + 2]
        w2, w3 = s[i + 1] / (3 * first), s[i + 2] / (3 * first)
        x = x + ((1 - w2 - w3) * d + w2 * d2 + w3 * d3) * dt
    return x


@torch.no_grad()
def sample_ddpm(
    model: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: Callback = None,
    noise_sampler: NoiseSampler | None = None,
) -> torch.Tensor:
    """Ancestral DDPM posterior step in the VP frame x̄ = x/√(1+σ²), ᾱ = 1/(1+σ²).

    μ = (x̄ − (1−α)ε/√(1−ᾱ))/√α with α = ᾱ/ᾱ′ and ε = (x − D)/σ; then
    x′ = √(1+σ′²)·(μ + √((1−α)(1−ᾱ′)/(1−ᾱ))·z) for σ′ > 0, and x′ = μ (= D) at σ′ = 0.
    """
    s = sigmas.tolist()
    for i in range(len(s) - 1):
        sig, nxt = s[i], s[i + 1]
        denoised = _eval(model, x, sig)
        _report(callback, i, x, sig, denoised)
        eps = (x - denoised) / sig
        abar, abar_next = 1 / (1 + sig * sig), 1 / (1 + nxt * nxt)
        alpha = abar / abar_next
        mu = (x * abar**0.5 - (1 - alpha) * eps / (1 - abar) ** 0.5) / alpha**0.5
        if nxt > 0:
            assert noise_sampler is not None
            var = (1 - alpha) * (1 - abar_next) / (1 - abar)
            mu = (mu + var**0.5 * noise_sampler(sigmas[i], sigmas[i + 1])) / abar_next**0.5
        x = mu
    return x


@torch.no_grad()
def sample_lcm(
    model: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: Callback = None,
    noise_sampler: NoiseSampler | None = None,
) -> torch.Tensor:
    """LCM: x ← D(x, σ_i), then re-noise to σ_{i+1} with fresh noise: x ← D + σ_{i+1}·z."""
    s = sigmas.tolist()
    for i in range(len(s) - 1):
        denoised = _eval(model, x, s[i])
        _report(callback, i, x, s[i], denoised)
        x = denoised
        if s[i + 1] > 0:
            assert noise_sampler is not None
            x = x + s[i + 1] * noise_sampler(sigmas[i], sigmas[i + 1])
    return x
