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

from graphrt.ops.kernels.samplers import SAMPLER_FNS, NoiseKit
from graphrt.ops.models.toy import load_toy


def _graphrt(name: str):
    """A sampler of graphrt's table (ComfyUI's later ones) in k-diffusion's call form."""

    def run(model, x, sigmas, disable=True):
        return SAMPLER_FNS[name](model, x, sigmas, None, NoiseKit(0))

    return run


SAMPLERS = {
    "euler": ks.sample_euler,
    "heun": ks.sample_heun,
    "dpm_2": ks.sample_dpm_2,
    "lms": ks.sample_lms,
    "dpmpp_2m": ks.sample_dpmpp_2m,
    **{name: _graphrt(name) for name in
       ("ipndm", "ipndm_v", "deis", "res_multistep", "uni_pc", "uni_pc_bh2")},
}
MIN_ORDER_RATIO = {"euler": 1.6, "heun": 3.5, "dpm_2": 3.5, "lms": 3.5, "dpmpp_2m": 2.0,
                   "ipndm": 3.0, "ipndm_v": 3.5, "deis": 4.5, "res_multistep": 3.0,
                   "uni_pc": 3.0, "uni_pc_bh2": 3.0}
"""Lower bound of err(n)/err(2n): ≈2 for first-order methods, ≈4 for second-order ones.

Measured (karras, 10→20→40→80→160→320 steps, up to σ_min), err(n)/err(2n):
- ipndm 3.6, 5.5, 4.5, 4.1, 4.05: order 2. Its Adams–Bashforth weights (order ≤ 4) assume
  equal steps, which karras steps are not.
- ipndm_v 14.6, 8.5, 0.38, 2.3, 3.1: irregular. Its variable-step order-4 weights (ComfyUI's,
  from diff-sampler) do not reduce to AB4 on equal steps (last weight −11/24, not −9/24), so the
  method is locally third order; at 40 steps its error happens to cancel (7e-5, then 2e-4 at 80).
- deis 4.9, 6.4, 7.2, 7.6, 7.75: order 3 (DEIS-tab, max order 3).
- res_multistep 0.9, 3.3, 3.95, 4.0: order 2 (the 10-step error cancels; tested from 20 steps).
- uni_pc 11.9, 3.2, 3.7, 4.06, 4.07 and uni_pc_bh2 9.9, 4.3, 3.9: order 2 at the end of the
  range, however high its order (3) in between: ComfyUI runs it with `lower_order_final`, so the
  last step is a first-order UniP step without corrector.
"""
ORDER_STEPS = {"res_multistep": (20, 40, 80)}
"""Step counts of the order test where the default (10, 20, 40) is not yet asymptotic."""


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


@pytest.mark.parametrize("name", ["uni_pc", "uni_pc_bh2"])
def test_uni_pc_ends_at_sigma_0_001(setup, name):
    """ComfyUI's UniPC replaces a last σ of 0 by 0.001: it lands on x(0.001), not on D."""
    err = (run(setup, name, 40) - exact(setup, 0.001)).abs().max().item()
    assert err < 0.03


@pytest.mark.parametrize("name", ["uni_pc", "uni_pc_bh2", "ipndm", "ipndm_v", "deis",
                                  "res_multistep"])
@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_short_ranges_run(setup, name, steps):
    """Few steps (order capped by the history there is) still approach the solution."""
    out = run(setup, name, steps)
    assert torch.isfinite(out).all()
    if steps > 1 or not name.startswith("uni_pc"):  # ComfyUI's 1-step UniPC makes no update
        assert (out - exact(setup, 0.0)).abs().max() < (setup[4] - exact(setup, 0.0)).abs().max()


@pytest.mark.parametrize("name", SAMPLERS)
def test_error_shrinks_at_the_expected_order(setup, name):
    """Up to σ_min (no final jump), doubling the steps divides the error by ≈2^order."""
    target = exact(setup, setup[0].sigma_min)
    steps = ORDER_STEPS.get(name, (10, 20, 40))
    errs = [(run(setup, name, n, to_zero=False) - target).abs().max().item() for n in steps]
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
