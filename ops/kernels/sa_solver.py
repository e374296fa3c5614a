"""SA-Solver, the stochastic Adams solver (arXiv:2309.05019), as ComfyUI's `sa_solver` and
`sa_solver_pece` run it (comfy/k_diffusion/sa_solver.py and sampling.py; facts, not code).
docs/semantics.md §14.2, docs/reproducibility.md §7.

In λ = −ln σ with data predictions D_j at λ_j, a step s → t with stochasticity τ is
x_t = (σ_t/σ_s)·e^{−τ²h}·x_s + Σ_j b_j D_j (+ σ_t·√(1 − e^{−2τ²h})·z in the predictor), with
b_j = α_t·∫_s^t (1+τ²)e^{(1+τ²)(λ−t)} ℓ_j(λ) dλ and ℓ_j the Lagrange basis through the λ_j.
The predictor uses up to 3 earlier D's (those at λ_{i−2..i}), the corrector up to 4 (ending at
the new point, evaluated there), both lowered towards the end of a list that reaches σ = 0;
PECE re-evaluates the corrected state. τ = 1 while σ_{i+1} lies in [σ(0.8), σ(0.2)] of the
model's schedule (percent_to_sigma), else 0. Coefficients are computed in float64 (ComfyUI:
in the σ tensor's float32). A multistep method: range dependent.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .solver import Callback, ModelFn, NoiseSampler
from .table import sigma_table, t_to_sigma

PREDICTOR_ORDER, CORRECTOR_ORDER = 3, 4


def exponential_integrals(s: float, t: float, order: int, tau: float) -> list[float]:
    """E_p = (1+τ²)·∫_s^t e^{(1+τ²)(λ−t)} λ^p dλ for p < order, by parts:
    E_p = (t^p − s^p·e^{−(1+τ²)(t−s)}) − p/(1+τ²)·E_{p−1}."""
    a = 1.0 + tau * tau
    decay = math.exp(-a * (t - s))
    out: list[float] = []
    for p in range(order):
        e = t**p - s**p * decay
        out.append(e - p / a * out[-1] if p else e)
    return out


def adams_coefficients(sigma_next: float, points: list[float], s: float, t: float,
                       tau: float) -> list[float]:
    """b_j for the D's at λ = points (Vandermonde system of the Lagrange integrals)."""
    k = len(points)
    integrals = torch.tensor(exponential_integrals(s, t, k, tau), dtype=torch.float64)
    vander = torch.tensor([[lam**p for lam in points] for p in range(k)], dtype=torch.float64)
    weights = torch.linalg.solve(vander, integrals)
    alpha_t = sigma_next * math.exp(t)
    return [alpha_t * float(w) for w in weights]


def percent_sigma(model: Any, percent: float) -> float:
    """σ at a fraction of the run: the guided model's own schedule, else the SD table."""
    own = getattr(model, "percent_to_sigma", None)
    if own is not None:
        return float(own(percent))
    return t_to_sigma((1.0 - percent) * 999.0, sigma_table())


@torch.no_grad()
def sample_sa_solver(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                     callback: Callback = None, noise_sampler: NoiseSampler | None = None,
                     pece: bool = False) -> torch.Tensor:
    """SA-Solver, predictor order 3, corrector order 4 (module docstring)."""
    if len(sigmas) <= 1:
        return x
    s = sigmas.tolist()
    lam = [-math.log(v) if v > 0 else math.inf for v in s]
    hi, lo = percent_sigma(model, 0.2), percent_sigma(model, 0.8)
    to_end = s[-1] == 0
    ones = x.new_ones([x.shape[0]])
    x_pred, h, tau, noise = x, 0.0, 0.0, None
    preds: list[torch.Tensor] = []
    for i in range(len(s) - 1):
        denoised = model(x_pred, sigmas[i] * ones)
        if callback is not None:
            callback({"x": x_pred, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i],
                      "denoised": denoised})
        preds = (preds + [denoised])[-max(PREDICTOR_ORDER, CORRECTOR_ORDER):]
        p_order = min(PREDICTOR_ORDER, len(preds))
        c_order = 0 if i == 0 or (s[i + 1] == 0 and not pece) else min(CORRECTOR_ORDER,
                                                                       len(preds))
        if to_end:
            p_order = min(p_order, len(s) - 2 - i)
            c_order = min(c_order, len(s) - 1 - i)
        if c_order == 0:
            x = x_pred
        else:
            b = adams_coefficients(s[i], lam[i - c_order + 1:i + 1], lam[i - 1], lam[i], tau)
            x = s[i] / s[i - 1] * math.exp(-(tau**2) * h) * x
            for w, d in zip(b, preds[-c_order:], strict=True):
                x = x + w * d
            if noise is not None:
                x = x + noise
            if pece:
                denoised = model(x, sigmas[i] * ones)
                preds[-1] = denoised
        if s[i + 1] == 0:
            x_pred = denoised
            continue
        tau = 1.0 if hi >= s[i + 1] >= lo else 0.0
        b = adams_coefficients(s[i + 1], lam[i - p_order + 1:i + 1], lam[i], lam[i + 1], tau)
        h = lam[i + 1] - lam[i]
        x_pred = s[i + 1] / s[i] * math.exp(-(tau**2) * h) * x
        for w, d in zip(b, preds[-p_order:], strict=True):
            x_pred = x_pred + w * d
        noise = None
        if tau > 0:
            assert noise_sampler is not None
            scale = s[i + 1] * math.sqrt(-math.expm1(-2 * tau**2 * h))
            noise = noise_sampler(sigmas[i], sigmas[i + 1]) * scale
            x_pred = x_pred + noise
    return x_pred
