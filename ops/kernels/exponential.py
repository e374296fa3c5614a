"""Stochastic exponential-integrator samplers in data prediction: er_sde, seeds_2, seeds_3 and
exp_heun_2_x0(_sde) (ComfyUI's comfy/k_diffusion/sampling.py; facts, not code).
docs/semantics.md §14.2, docs/reproducibility.md §7.

For discrete (EPS/V) models the half-log-SNR is λ = −ln σ and α = σ·e^λ = 1 up to float32
rounding; ComfyUI's α factors are kept as it computes them. A step to σ = 0 is x ← D. Noise
comes from the sampler's noise source, queried per sub-step (σ_a, σ_b); in noise mode
"graphrt" a query inside step i is keyed by (seed, i, its rank in the step) (noise.py).

- er_sde (arXiv:2309.06169, VP ER-SDE-Solver-3, noise scale f(λ) = λ·(e^{λ^0.3} + 10) on
  λ_ER = σ/α): x′ = (α′/α)(f′/f)·x + α′(1 − f′/f)·D, plus the 2nd and 3rd order terms from
  the earlier D's (a multistep method: range dependent) with the integrals of 1/f and
  (λ − λ_s)/f on 200 points, plus α′·z·√(λ′² − λ²(f′/f)²).
- seeds_2 / seeds_3 (arXiv:2305.14267, SEEDS, eta 1): 2 and 3 stages at λ-fractions r = ½ and
  (⅓, ⅔), the noise of each stage carried into the next as e^{(r_k − r_{k+1})h}·n +
  √(1 − e^{2(r_k − r_{k+1})h})·z; 2 and 3 model calls per step, as many draws.
- exp_heun_2_x0 (deterministic) and exp_heun_2_x0_sde: seeds_2 with r = 1 and the φ₂
  weights, eta 0 and 1.
"""

from __future__ import annotations

import torch

from .solver import Callback, ModelFn, NoiseSampler, denoise_at, report_step


def _phi2(h: torch.Tensor) -> torch.Tensor:
    """h·φ₂(h) = (e^h − 1 − h)/h."""
    return (torch.expm1(h) - h) / h


def _er_scale(v: torch.Tensor) -> torch.Tensor:
    return v * ((v**0.3).exp() + 10.0)


@torch.no_grad()
def sample_er_sde(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                  callback: Callback = None, noise_sampler: NoiseSampler | None = None,
                  max_stage: int = 3, points: int = 200) -> torch.Tensor:
    """ER-SDE-Solver-3: stage k ≤ min(max_stage, i + 1) of step i (module docstring)."""
    lam = sigmas.log().exp()  # λ_ER = σ/α = e^{−λ}, λ = −ln σ
    grid = torch.arange(0, float(points), dtype=torch.float32, device=x.device)
    old: torch.Tensor | None = None
    old_d: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = denoise_at(model, x, sigmas[i])
        report_step(callback, i, x, sigmas[i], denoised)
        stage = min(max_stage, i + 1)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            ls, lt = lam[i], lam[i + 1]
            a_s, a_t = sigmas[i] / ls, sigmas[i + 1] / lt
            r = _er_scale(lt) / _er_scale(ls)
            x = (a_t / a_s) * r * x + a_t * (1 - r) * denoised
            if stage >= 2:
                assert old is not None
                dt = lt - ls
                step = -dt / points
                pos = lt + grid * step
                scaled = _er_scale(pos)
                d = (denoised - old) / (ls - lam[i - 1])
                x = x + a_t * (dt + (1 / scaled).sum() * step * _er_scale(lt)) * d
                if stage >= 3:
                    assert old_d is not None
                    s_u = ((pos - ls) / scaled).sum() * step
                    u = (d - old_d) / ((ls - lam[i - 2]) / 2)
                    x = x + a_t * (dt**2 / 2 + s_u * _er_scale(lt)) * u
                old_d = d
            assert noise_sampler is not None
            scale = (lt**2 - ls**2 * r**2).sqrt().nan_to_num(nan=0.0)
            x = x + a_t * noise_sampler(sigmas[i], sigmas[i + 1]) * scale
        old = denoised
    return x


def _carry(noise: torch.Tensor, factor: torch.Tensor, fresh: torch.Tensor) -> torch.Tensor:
    """The noise of one stage carried into the next: e^f·n + √(1 − e^{2f})·z."""
    return noise * factor.exp() + (factor * 2).expm1().neg().sqrt() * fresh


def _first_stage(model: ModelFn, x: torch.Tensor, denoised: torch.Tensor, sig: torch.Tensor,
                 sig_1: torch.Tensor, a_1: torch.Tensor, r: float, h: torch.Tensor, eta: float,
                 noise_sampler: NoiseSampler | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The SEEDS stage at r of the λ step (σ_1): its denoised value, and the noise it drew
    (None when eta is 0), which later stages carry on."""
    h_eta = h * (eta + 1)
    x_1 = sig_1 / sig * (-r * h * eta).exp() * x - a_1 * torch.expm1(-r * h_eta) * denoised
    noise: torch.Tensor | None = None
    if eta:
        assert noise_sampler is not None
        noise = (-2 * r * h * eta).expm1().neg().sqrt() * noise_sampler(sig, sig_1)
        x_1 = x_1 + noise * sig_1
    return denoise_at(model, x_1, sig_1), noise


@torch.no_grad()
def sample_seeds_2(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                   callback: Callback = None, noise_sampler: NoiseSampler | None = None,
                   eta: float = 1.0, r: float = 0.5, phi_2: bool = False) -> torch.Tensor:
    """SEEDS-2 (phi_2=False: D mixed (1 − 1/2r, 1/2r); phi_2=True: the φ₂ weights)."""
    for i in range(len(sigmas) - 1):
        sig, nxt = sigmas[i], sigmas[i + 1]
        denoised = denoise_at(model, x, sig)
        report_step(callback, i, x, sig, denoised)
        if nxt == 0:
            x = denoised
            continue
        lam_s, lam_t = sig.log().neg(), nxt.log().neg()
        h = lam_t - lam_s
        h_eta = h * (eta + 1)
        lam_1 = torch.lerp(lam_s, lam_t, r)
        sig_1 = lam_1.neg().exp()
        a_1, a_t = sig_1 * lam_1.exp(), nxt * lam_t.exp()
        denoised_2, noise = _first_stage(model, x, denoised, sig, sig_1, a_1, r, h, eta,
                                         noise_sampler)
        if phi_2:
            b2 = _phi2(-h_eta) / r
            b1 = torch.expm1(-h_eta) - b2
            x = nxt / sig * (-h * eta).exp() * x - a_t * (b1 * denoised + b2 * denoised_2)
        else:
            mixed = torch.lerp(denoised, denoised_2, 1 / (2 * r))
            x = nxt / sig * (-h * eta).exp() * x - a_t * torch.expm1(-h_eta) * mixed
        if noise is not None:
            assert noise_sampler is not None
            noise = _carry(noise, (r - 1) * h * eta, noise_sampler(sig_1, nxt))
            x = x + noise * nxt
    return x


@torch.no_grad()
def sample_seeds_3(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                   callback: Callback = None, noise_sampler: NoiseSampler | None = None,
                   eta: float = 1.0, r_1: float = 1 / 3, r_2: float = 2 / 3) -> torch.Tensor:
    """SEEDS-3: stages at r_1, r_2 of the λ step; the last combines D and the third D."""
    for i in range(len(sigmas) - 1):
        sig, nxt = sigmas[i], sigmas[i + 1]
        denoised = denoise_at(model, x, sig)
        report_step(callback, i, x, sig, denoised)
        if nxt == 0:
            x = denoised
            continue
        lam_s, lam_t = sig.log().neg(), nxt.log().neg()
        h = lam_t - lam_s
        h_eta = h * (eta + 1)
        lam_1, lam_2 = torch.lerp(lam_s, lam_t, r_1), torch.lerp(lam_s, lam_t, r_2)
        sig_1, sig_2 = lam_1.neg().exp(), lam_2.neg().exp()
        a_1, a_2, a_t = sig_1 * lam_1.exp(), sig_2 * lam_2.exp(), nxt * lam_t.exp()
        denoised_2, noise = _first_stage(model, x, denoised, sig, sig_1, a_1, r_1, h, eta,
                                         noise_sampler)
        a32 = r_2 / r_1 * _phi2(-r_2 * h_eta)
        a31 = torch.expm1(-r_2 * h_eta) - a32
        x_3 = sig_2 / sig * (-r_2 * h * eta).exp() * x - a_2 * (a31 * denoised + a32 * denoised_2)
        if noise is not None:
            assert noise_sampler is not None
            noise = _carry(noise, (r_1 - r_2) * h * eta, noise_sampler(sig_1, sig_2))
            x_3 = x_3 + noise * sig_2
        denoised_3 = denoise_at(model, x_3, sig_2)
        b3 = _phi2(-h_eta) / r_2
        b1 = torch.expm1(-h_eta) - b3
        x = nxt / sig * (-h * eta).exp() * x - a_t * (b1 * denoised + b3 * denoised_3)
        if noise is not None:
            assert noise_sampler is not None
            noise = _carry(noise, (r_2 - 1) * h * eta, noise_sampler(sig_2, nxt))
            x = x + noise * nxt
    return x
