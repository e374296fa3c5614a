"""k-diffusion samplers on the toy denoiser against the closed-form probability flow.

"a red circle on the left" fixes the position, so its distribution is one Gaussian N(μ, s²I).
Its probability-flow ODE dx/dσ = (x − D(x, σ))/σ keeps x − μ ∝ √(s² + σ²), so from
x_T = μ + σ_max·n the exact solution is x(σ) = μ + (x_T − μ)·√(s² + σ²)/√(s² + σ_max²).
Runs use float64 and unquantized timesteps, so the only error is the samplers' own.
"""

from __future__ import annotations

import math

import k_diffusion.sampling as ks
import pytest
import torch

from graphrt.ops.models.toy import load_toy

SAMPLERS = {
    "euler": ks.sample_euler,
    "heun": ks.sample_heun,
    "dpm_2": ks.sample_dpm_2,
    "lms": ks.sample_lms,
    "dpmpp_2m": ks.sample_dpmpp_2m,
}
MIN_ORDER_RATIO = {"euler": 1.6, "heun": 3.5, "dpm_2": 3.5, "lms": 3.5, "dpmpp_2m": 2.0}
"""Lower bound of err(n)/err(2n): ≈2 for first-order methods, ≈4 for second-order ones."""


@pytest.fixture(scope="module")
def setup():
    model, clip, _ = load_toy("toy-shapes", quantize=False)
    cond = clip.encode("a red circle on the left")[0].double()
    means, spread = model.net.mixture(
        ("red", "circle", "left"), 8, 8, torch.device("cpu"), torch.float64
    )
    assert means.shape[0] == 1  # a single Gaussian
    mu = means.reshape(1, 4, 8, 8)
    gen = torch.Generator().manual_seed(0)
    x_t = mu + model.sigma_max * torch.randn(1, 4, 8, 8, dtype=torch.float64, generator=gen)
    return model, cond, mu, spread, x_t


def exact(setup, sigma: float) -> torch.Tensor:
    model, _, mu, s, x_t = setup
    ratio = math.sqrt(s * s + sigma * sigma) / math.sqrt(s * s + model.sigma_max**2)
    return mu + (x_t - mu) * ratio


def run(setup, name: str, steps: int, *, to_zero: bool = True) -> torch.Tensor:
    model, cond, _, _, x_t = setup
    sigmas = ks.get_sigmas_karras(steps, model.sigma_min, model.sigma_max).double()
    if not to_zero:
        sigmas = sigmas[:-1]

    def denoiser(x, sigma, **_):
        return model.denoise(x, sigma, cond)

    return SAMPLERS[name](denoiser, x_t.clone(), sigmas, disable=True)


@pytest.mark.parametrize("name", SAMPLERS)
def test_lands_on_the_closed_form(setup, name):
    """40 steps reach x(0) within 0.03 (latent values span ±0.7).

    Most of that is the last step σ_min → 0, a plain D(x, σ_min) in every sampler here but
    LMS: it scales x − μ by s²/(s² + σ_min²) instead of s/√(s² + σ_min²), about 4% of
    |x(σ_min) − μ| ≈ s·|n|, whatever the number of steps.
    """
    err = (run(setup, name, 40) - exact(setup, 0.0)).abs().max().item()
    assert err < 0.03


@pytest.mark.parametrize("name", SAMPLERS)
def test_error_shrinks_at_the_expected_order(setup, name):
    """Up to σ_min (no final jump), doubling the steps divides the error by ≈2^order."""
    target = exact(setup, setup[0].sigma_min)
    errs = [(run(setup, name, n, to_zero=False) - target).abs().max().item() for n in (10, 20, 40)]
    assert errs[0] / errs[1] > MIN_ORDER_RATIO[name]
    assert errs[1] / errs[2] > MIN_ORDER_RATIO[name]
    if name == "euler":
        assert errs[0] / errs[1] < 2.6 and errs[1] / errs[2] < 2.6


def test_heun_beats_euler(setup):
    target = exact(setup, setup[0].sigma_min)
    for n in (10, 20, 40):
        euler = (run(setup, "euler", n, to_zero=False) - target).abs().max()
        heun = (run(setup, "heun", n, to_zero=False) - target).abs().max()
        assert heun < euler / 1.5
