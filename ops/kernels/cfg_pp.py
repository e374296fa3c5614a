"""CFG++ samplers and gradient estimation (ComfyUI's comfy/k_diffusion/sampling.py; facts, not
code). docs/semantics.md §14.2, docs/reproducibility.md §7.

CFG++ (arXiv:2406.08070) renoises with the UNCONDITIONAL prediction D_u instead of the guided
one D: its Euler step is x′ = D + σ′·(x − D_u)/σ, so the guidance moves only the denoised
estimate. `model.pair(x, σ)` gives (D, D_u) (guidance.py); ComfyUI evaluates the uncond
branch even at cfg 1 for these samplers. The discrete (EPS/V) models' half-log-SNR is λ = −ln σ,
so the α = σ·e^λ factors ComfyUI carries are 1 up to float32 rounding; they are kept.
Gradient estimation (ComfyUI's `gradient_estimation`, γ = 2) adds (γ − 1)(d_i − d_{i−1})·Δσ
to each Euler step after the first.
"""

from __future__ import annotations

import torch

from .guidance import denoise_pair
from .solver import Callback, ModelFn, NoiseSampler, report_step


def _alpha(sigma: torch.Tensor) -> torch.Tensor:
    """σ·e^{λ(σ)} with λ = −ln σ: 1 up to rounding, as ComfyUI computes it."""
    return sigma * sigma.log().neg().exp()


def ancestral_step(sigma: torch.Tensor, sigma_next: torch.Tensor, eta: float
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(σ_down, σ_up) of k-diffusion's get_ancestral_step."""
    if not eta:
        return sigma_next, torch.zeros_like(sigma_next)
    up = torch.minimum(sigma_next, eta * (sigma_next**2 * (sigma**2 - sigma_next**2)
                                          / sigma**2) ** 0.5)
    return (sigma_next**2 - up**2) ** 0.5, up


@torch.no_grad()
def sample_euler_ancestral_cfg_pp(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                                  callback: Callback = None,
                                  noise_sampler: NoiseSampler | None = None,
                                  eta: float = 1.0) -> torch.Tensor:
    """x′ = α′·D + σ_down·(x − α·D_u)/σ + α′·σ_up·z (σ_down, σ_up of (σ/α, σ′/α′)); a step
    to 0 returns D. eta = 0 is euler_cfg_pp, which draws nothing."""
    for i in range(len(sigmas) - 1):
        sig, nxt = sigmas[i], sigmas[i + 1]
        denoised, uncond = denoise_pair(model, x, sig)
        report_step(callback, i, x, sig, denoised)
        if nxt == 0:
            x = denoised
            continue
        a_s, a_t = _alpha(sig), _alpha(nxt)
        d = (x - a_s * uncond) / sig
        down, up = ancestral_step(sig / a_s, nxt / a_t, eta)
        x = a_t * denoised + (a_t * down) * d
        if eta:
            assert noise_sampler is not None
            x = x + a_t * noise_sampler(sig, nxt) * up
    return x


def sample_euler_cfg_pp(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                        callback: Callback = None) -> torch.Tensor:
    """x′ = D + σ′·(x − D_u)/σ."""
    return sample_euler_ancestral_cfg_pp(model, x, sigmas, callback, eta=0.0)


@torch.no_grad()
def sample_dpmpp_2s_ancestral_cfg_pp(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                                     callback: Callback = None,
                                     noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """DPM-Solver++(2S) on D_u to σ_down (the midpoint evaluation contributes only its D_u),
    then σ_up·z when σ′ > 0, then + (D − D_u) of the step's first evaluation."""
    for i in range(len(sigmas) - 1):
        sig, nxt = sigmas[i], sigmas[i + 1]
        denoised, uncond = denoise_pair(model, x, sig)
        guidance = denoised - uncond
        down, up = ancestral_step(sig, nxt, 1.0)
        report_step(callback, i, x, sig, denoised)
        if down == 0:
            x = x + (x - uncond) / sig * (down - sig)
        else:
            t, t_next = sig.log().neg(), down.log().neg()
            h = t_next - t
            s = t + h / 2
            x_2 = (s.neg().exp() / t.neg().exp()) * x - (-h / 2).expm1() * uncond
            _, uncond_2 = denoise_pair(model, x_2, s.neg().exp())
            x = (t_next.neg().exp() / t.neg().exp()) * x - (-h).expm1() * uncond_2
        if nxt > 0:
            assert noise_sampler is not None
            x = x + noise_sampler(sig, nxt) * up
        x = x + guidance
    return x


@torch.no_grad()
def sample_dpmpp_2m_cfg_pp(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                           callback: Callback = None) -> torch.Tensor:
    """DPM-Solver++(2M) with CFG++: x′ = D + e^{−h}·x − e^{−h}·D_u − (e^{−h} − 1)/(2r)·(D −
    D_u of the previous step), the correction dropped on the first step and to σ = 0."""
    old_uncond: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised, uncond = denoise_pair(model, x, sigmas[i])
        report_step(callback, i, x, sigmas[i], denoised)
        t, t_next = sigmas[i].log().neg(), sigmas[i + 1].log().neg()
        h = t_next - t
        mix = -torch.exp(-h) * uncond
        if old_uncond is not None and sigmas[i + 1] != 0:
            r = (t - sigmas[i - 1].log().neg()) / h
            mix = mix - torch.expm1(-h) * (1 / (2 * r)) * (denoised - old_uncond)
        x = denoised + mix + torch.exp(-h) * x
        old_uncond = uncond
    return x


@torch.no_grad()
def sample_gradient_estimation(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                               callback: Callback = None, ge_gamma: float = 2.0,
                               cfg_pp: bool = False) -> torch.Tensor:
    """Euler (or CFG++ Euler, x′ = D + σ′·d with d from D_u) plus (γ − 1)(d − d_prev)·Δσ from
    the second step of the call; a step to 0 returns D."""
    old_d: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        sig, nxt = sigmas[i], sigmas[i + 1]
        if cfg_pp:
            denoised, uncond = denoise_pair(model, x, sig)
            d = (x - uncond) / sig
        else:
            denoised = model(x, sig * x.new_ones([x.shape[0]]))
            d = (x - denoised) / sig
        report_step(callback, i, x, sig, denoised)
        dt = nxt - sig
        if nxt == 0:
            x = denoised
        else:
            x = denoised + d * nxt if cfg_pp else x + d * dt
            if old_d is not None:
                x = x + (ge_gamma - 1) * (d - old_d) * dt
        old_d = d
    return x
