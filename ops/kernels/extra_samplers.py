"""Samplers ComfyUI adds to k-diffusion (docs/semantics.md §14.2): heunpp2, ddpm, lcm; and
ComfyUI's current form of dpmpp_sde, which noise mode "comfy" runs (docs/reproducibility.md).
`NEW_SAMPLER_FNS` registers ComfyUI's later samplers, kept in their own modules.

Same signature as k-diffusion's: `sample_x(model, x, sigmas, callback=None, noise_sampler=None)`
with `model(x, σ[B]) -> D`; the callback receives k-diffusion's dict (i, x, sigma, denoised).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from . import cfg_pp as CP
from . import exponential as E
from . import multistep as MS
from .sa_solver import sample_sa_solver
from .solver import Callback, ModelFn, NoiseSampler, report_step
from .unipc import sample_unipc


def _eval(model: ModelFn, x: torch.Tensor, sigma: float) -> torch.Tensor:
    return model(x, x.new_full([x.shape[0]], sigma))


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
        report_step(callback, i, x, s[i], denoised)
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
        report_step(callback, i, x, sig, denoised)
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
        report_step(callback, i, x, s[i], denoised)
        x = denoised
        if s[i + 1] > 0:
            assert noise_sampler is not None
            x = x + s[i + 1] * noise_sampler(sigmas[i], sigmas[i + 1])
    return x


def _ancestral_step(sigma: torch.Tensor, sigma_next: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(σ_down, σ_up) of an ancestral step with eta 1 (k-diffusion's get_ancestral_step)."""
    up = torch.minimum(sigma_next, (sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2) ** 0.5)
    return (sigma_next**2 - up**2) ** 0.5, up


@torch.no_grad()
def sample_dpmpp_sde_comfy(
    model: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: Callback = None,
    noise_sampler: NoiseSampler | None = None,
    r: float = 0.5,
) -> torch.Tensor:
    """DPM-Solver++ (stochastic) as current ComfyUI writes it for EPS models.

    In half-log-SNR λ = −ln σ (α = σ·e^λ, 1 up to rounding): a first-order half step to
    σ_s = e^{−(λ_s + r·h)} with noise queried at (σ_i, σ_s), then the full step with D mixed
    (1 − 1/2r, 1/2r) and noise queried at (σ_i, σ_{i+1}); a step to 0 returns D. The same
    maths as k-diffusion's sampler, but ComfyUI queries its Brownian tree at σ_i itself where
    k-diffusion queries at e^{ln σ_i}, and the tree's value depends on the query's last bit.
    """
    assert noise_sampler is not None
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        sig, nxt = sigmas[i], sigmas[i + 1]
        denoised = model(x, sig * s_in)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sig, "sigma_hat": sig, "denoised": denoised})
        if nxt == 0:
            x = denoised
            continue
        lam_s, lam_t = sig.log().neg(), nxt.log().neg()
        h = lam_t - lam_s
        lam_s1 = lam_s + r * h
        sigma_s1 = lam_s1.neg().exp()
        alpha_s, alpha_s1, alpha_t = sig * lam_s.exp(), sigma_s1 * lam_s1.exp(), nxt * lam_t.exp()
        down, up = _ancestral_step(lam_s.neg().exp(), lam_s1.neg().exp())
        h_ = down.log().neg() - lam_s
        x_2 = (alpha_s1 / alpha_s) * (-h_).exp() * x - alpha_s1 * (-h_).expm1() * denoised
        x_2 = x_2 + alpha_s1 * noise_sampler(sig, sigma_s1) * up
        denoised_2 = model(x_2, sigma_s1 * s_in)
        down, up = _ancestral_step(lam_s.neg().exp(), lam_t.neg().exp())
        h_ = down.log().neg() - lam_s
        mixed = (1 - 1 / (2 * r)) * denoised + 1 / (2 * r) * denoised_2
        x = (alpha_t / alpha_s) * (-h_).exp() * x - alpha_t * (-h_).expm1() * mixed
        x = x + alpha_t * noise_sampler(sig, nxt) * up
    return x


# ComfyUI's later samplers (unipc.py, multistep.py), in samplers.py's signature
# `fn(model, x, sigmas, callback, noise_kit)`; samplers.py registers them after its own.
class _Kit(Protocol):
    def ancestral(self, x: torch.Tensor, sigmas: torch.Tensor) -> NoiseSampler: ...


NewSampler = Callable[[ModelFn, torch.Tensor, torch.Tensor, Callback, _Kit], torch.Tensor]


def _res_ancestral(m: ModelFn, x: torch.Tensor, s: torch.Tensor, cb: Callback, nk: _Kit
                   ) -> torch.Tensor:
    return MS.sample_res_multistep(m, x, s, cb, noise_sampler=nk.ancestral(x, s), eta=1.0)


def _noisy(fn: Callable[..., torch.Tensor], **kw: Any) -> NewSampler:
    """A sampler drawing from the range's ancestral noise source."""
    return lambda m, x, s, cb, nk: fn(m, x, s, cb, noise_sampler=nk.ancestral(x, s), **kw)


def _quiet(fn: Callable[..., torch.Tensor], **kw: Any) -> NewSampler:
    """A sampler that draws no noise."""
    return lambda m, x, s, cb, nk: fn(m, x, s, cb, **kw)


NEW_SAMPLER_FNS: dict[str, NewSampler] = {
    "ipndm": _quiet(MS.sample_ipndm),
    "ipndm_v": _quiet(MS.sample_ipndm_v),
    "deis": _quiet(MS.sample_deis),
    "res_multistep": _quiet(MS.sample_res_multistep),
    "res_multistep_ancestral": _res_ancestral,
    "uni_pc": _quiet(sample_unipc),
    "uni_pc_bh2": _quiet(sample_unipc, bh2=True),
    # CFG++ (cfg_pp.py, multistep.py) and gradient estimation
    "euler_cfg_pp": _quiet(CP.sample_euler_cfg_pp),
    "euler_ancestral_cfg_pp": _noisy(CP.sample_euler_ancestral_cfg_pp),
    "dpmpp_2s_ancestral_cfg_pp": _noisy(CP.sample_dpmpp_2s_ancestral_cfg_pp),
    "dpmpp_2m_cfg_pp": _quiet(CP.sample_dpmpp_2m_cfg_pp),
    "res_multistep_cfg_pp": _quiet(MS.sample_res_multistep, cfg_pp=True),
    "res_multistep_ancestral_cfg_pp": _noisy(MS.sample_res_multistep, eta=1.0, cfg_pp=True),
    "gradient_estimation": _quiet(CP.sample_gradient_estimation),
    "gradient_estimation_cfg_pp": _quiet(CP.sample_gradient_estimation, cfg_pp=True),
    # stochastic exponential integrators (exponential.py) and SA-Solver (sa_solver.py)
    "exp_heun_2_x0": _quiet(E.sample_seeds_2, eta=0.0, r=1.0, phi_2=True),
    "exp_heun_2_x0_sde": _noisy(E.sample_seeds_2, eta=1.0, r=1.0, phi_2=True),
    "er_sde": _noisy(E.sample_er_sde),
    "seeds_2": _noisy(E.sample_seeds_2),
    "seeds_3": _noisy(E.sample_seeds_3),
    "sa_solver": _noisy(sample_sa_solver),
    "sa_solver_pece": _noisy(sample_sa_solver, pece=True),
}
