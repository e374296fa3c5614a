"""Multistep samplers ComfyUI adds to k-diffusion: ipndm, ipndm_v, deis, res_multistep and
res_multistep_ancestral, with their CFG++ forms (comfy/k_diffusion/sampling.py and deis.py;
facts, not code).

All work on d = (x − D)/σ (ipndm, ipndm_v, deis: Adams–Bashforth in σ, d being the
probability-flow slope dx/dσ) or on D in λ = −ln σ (res_multistep: the exponential
integrator of arXiv:2308.02157), keep a history of earlier steps within the call, and so are
range dependent: a split range restarts the history. A step to σ = 0 is x ← D.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .float32 import f32
from .solver import Callback, ModelFn, NoiseSampler, denoise_at, report_step


def _ab_fixed(order: int) -> tuple[float, ...]:
    """Adams–Bashforth weights of d_i, d_{i−1}, … for equal steps (ipndm)."""
    return {1: (1.0,), 2: (1.5, -0.5), 3: (23 / 12, -16 / 12, 5 / 12),
            4: (55 / 24, -59 / 24, 37 / 24, -9 / 24)}[order]


def _ab_variable(s: Sequence[float], i: int, order: int) -> tuple[float, ...]:
    """ipndm_v's weights for uneven steps h_n = σ_{i+1} − σ_i, h_{n−k} the earlier ones."""
    h0 = s[i + 1] - s[i]
    if order == 1:
        return (1.0,)
    h1 = s[i] - s[i - 1]
    r = h0 / h1
    if order == 2:
        return ((2 + r) / 2, -r / 2)
    h2 = s[i - 1] - s[i - 2]
    t1 = (1 - h0 / (3 * (h0 + h1)) * (h0 * (h0 + h1)) / (h1 * (h1 + h2))) / 2
    if order == 3:
        return ((2 + r) / 2 + t1, -r / 2 - (1 + h1 / h2) * t1, t1 * h1 / h2)
    h3 = s[i - 2] - s[i - 3]
    t2 = ((1 - h0 / (3 * (h0 + h1))) / 2 + (1 - h0 / (2 * (h0 + h1))) * h0 / (6 * (h0 + h1 + h2))) \
        * (h0 * (h0 + h1) * (h0 + h1 + h2)) / (h1 * (h1 + h2) * (h1 + h2 + h3))
    q = h1 * (h1 + h2) / (h2 * (h2 + h3))
    return ((2 + r) / 2 + t1 + t2,
            -r / 2 - (1 + h1 / h2) * t1 - (1 + h1 / h2 + q) * t2,
            t1 * h1 / h2 + (h1 / h2 + q * (1 + h2 / h3)) * t2,
            -t2 * q * h1 / h2)


def _pndm(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback,
          variable: bool, max_order: int = 4) -> torch.Tensor:
    s = sigmas.tolist()
    hist: list[torch.Tensor] = []  # d of earlier steps, newest last
    for i in range(len(s) - 1):
        denoised = denoise_at(model, x, sigmas[i])
        report_step(callback, i, x, sigmas[i], denoised)
        d = (x - denoised) / sigmas[i]
        order = min(max_order, i + 1)
        if s[i + 1] == 0:
            x_next = denoised
        else:
            w = _ab_variable(s, i, order) if variable else _ab_fixed(order)
            slope = w[0] * d
            for k in range(1, order):
                slope = slope + w[k] * hist[-k]
            x_next = x + (sigmas[i + 1] - sigmas[i]) * slope
        hist = (hist + [d])[-(max_order - 1):]
        x = x_next
    return x


@torch.no_grad()
def sample_ipndm(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                 callback: Callback = None) -> torch.Tensor:
    """Improved PNDM: Adams–Bashforth of order ≤ 4 in σ with equal-step weights."""
    return _pndm(model, x, sigmas, callback, variable=False)


@torch.no_grad()
def sample_ipndm_v(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                   callback: Callback = None) -> torch.Tensor:
    """ipndm with variable-step Adams–Bashforth weights (order ≤ 4)."""
    return _pndm(model, x, sigmas, callback, variable=True)


# DEIS ("tab" mode): σ is mapped to the time t of a VP SDE fitted to EDM's range, and the slope
# d is interpolated by a Lagrange polynomial in t through the last `order` points, integrated
# against dσ/dt on a fixed N-point grid (as ComfyUI does).
_EPS_S, _SIG_MIN, _SIG_MAX, _N = 1e-3, 0.002, 80.0, 10_000


def _vp_betas() -> tuple[float, float]:
    lo = math.log(f32(_SIG_MIN) ** 2 + 1)
    hi = math.log(f32(_SIG_MAX) ** 2 + 1)
    beta_d = 2 * (lo / _EPS_S - hi) / (_EPS_S - 1)
    return hi - 0.5 * beta_d, beta_d  # β_min, β_d


def deis_coefficients(sigmas: Sequence[float], max_order: int = 3) -> list[list[float]]:
    """Per step i: the weights of d_i, d_{i−1}, … (empty for order 1 and steps to σ ≤ 0)."""
    beta_min, beta_d = _vp_betas()
    t = torch.tensor([(math.sqrt(beta_min**2 + 2 * beta_d * math.log(v * v + 1)) - beta_min)
                      / beta_d for v in sigmas], dtype=torch.float64)
    out: list[list[float]] = []
    for i in range(len(sigmas) - 1):
        order = min(i + 1, max_order)
        if order == 1 or sigmas[i + 1] <= 0:
            out.append([])
            continue
        taus = torch.linspace(float(t[i]), float(t[i + 1]), _N, dtype=torch.float64)
        dtau = (t[i + 1] - t[i]) / _N
        log_a = -0.5 * taus**2 * beta_d - taus * beta_min
        a = log_a.exp()
        integrand = 0.5 * (taus * beta_d + beta_min) / torch.sqrt(a * (1 - a))  # dσ/dτ
        pts = [t[i - k] for k in range(order)]
        coeffs = []
        for j in range(order):
            poly = torch.ones_like(taus)
            for k in range(order):
                if k != j:
                    poly = poly * (taus - pts[k]) / (pts[j] - pts[k])
            coeffs.append(float((integrand * poly).sum() * dtau))
        out.append(coeffs)
    return out


@torch.no_grad()
def sample_deis(model: ModelFn, x: torch.Tensor, sigmas: torch.Tensor,
                callback: Callback = None, max_order: int = 3) -> torch.Tensor:
    """DEIS-tab, order ≤ 3: x_{i+1} = x_i + Σ_j c_ij d_{i−j}; Euler for order 1 and to σ = 0."""
    s = sigmas.tolist()
    coeffs = deis_coefficients(s, max_order)
    hist: list[torch.Tensor] = []
    for i in range(len(s) - 1):
        denoised = denoise_at(model, x, sigmas[i])
        report_step(callback, i, x, sigmas[i], denoised)
        d = (x - denoised) / sigmas[i]
        c = coeffs[i]
        if not c:
            x_next = x + (sigmas[i + 1] - sigmas[i]) * d
        else:
            x_next = x + c[0] * d
            for k in range(1, len(c)):
                x_next = x_next + c[k] * hist[-k]
        hist = (hist + [d])[-(max_order - 1):]
        x = x_next
    return x


def _ancestral(sigma: float, sigma_next: float, eta: float) -> tuple[float, float]:
    """(σ_down, σ_up) of k-diffusion's get_ancestral_step."""
    if not eta:
        return sigma_next, 0.0
    up = min(sigma_next, eta * (sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2) ** 0.5)
    return (sigma_next**2 - up**2) ** 0.5, up


@torch.no_grad()
def sample_res_multistep(
    model: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: Callback = None,
    noise_sampler: NoiseSampler | None = None,
    eta: float = 0.0,
    cfg_pp: bool = False,
) -> torch.Tensor:
    """RES second-order multistep in λ = −ln σ, to σ_down of each step (σ_{i+1} for eta 0).

    The first step and a step with σ_down = 0 are Euler steps; otherwise, with h = λ(σ_down)
    − λ(σ_i) and c₂ = (λ(σ_{i−1}) − λ(σ_down of step i−1))/h:
    x ← e^{−h}·x + h·((φ₁ − φ₂/c₂)·D_i + (φ₂/c₂)·D_{i−1}), φ_k at −h. With eta > 0 noise
    σ_up·z follows every step to σ_{i+1} > 0. `cfg_pp` (CFG++, cfg_pp.py): the Euler steps
    are x ← D + σ_down·(x − D_u)/σ, the multistep ones add D − D_u to x first and use D_u
    in place of D, and the history keeps D_u.
    """
    from .guidance import denoise_pair

    s = sigmas.tolist()
    old_denoised: torch.Tensor | None = None
    old_down = 0.0
    for i in range(len(s) - 1):
        if cfg_pp:
            denoised, uncond = denoise_pair(model, x, sigmas[i])
        else:
            denoised = uncond = denoise_at(model, x, sigmas[i])
        down, up = _ancestral(s[i], s[i + 1], eta)
        report_step(callback, i, x, sigmas[i], denoised)
        if down == 0 or old_denoised is None:
            if cfg_pp:
                x = denoised + (x - uncond) / s[i] * down
            else:
                x = x + (x - denoised) / s[i] * (down - s[i])
        else:
            if cfg_pp:
                x = x + (denoised - uncond)
            t, t_next = -math.log(s[i]), -math.log(down)
            t_prev, t_old = -math.log(s[i - 1]), -math.log(old_down)
            h = t_next - t
            if h != 0:  # h = 0 (a repeated σ): ComfyUI's NaN weights become 0, x stays
                c2 = (t_prev - t_old) / h
                phi1 = math.expm1(-h) / -h
                phi2 = (phi1 - 1.0) / -h
                b1, b2 = (phi1 - phi2 / c2, phi2 / c2) if c2 != 0 else (0.0, 0.0)
                x = math.exp(-h) * x + h * (b1 * uncond + b2 * old_denoised)
        if s[i + 1] > 0 and eta:  # drawn even where σ_up = 0: one draw per such step
            assert noise_sampler is not None
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * up
        old_denoised, old_down = uncond, down
    return x
