"""ComfyUI's later samplers (ops/kernels/names.py) against closed forms, with their orders.

- Deterministic ones (the CFG++ forms with equal conditionings, gradient estimation,
  exp_heun_2_x0, and the noise-free skeletons of seeds_2/3 and sa_solver) against the closed-form
  probability flow of one Gaussian, as test_pf_exactness.py does; doubling the steps divides the
  error by ≈2^order.
- Stochastic ones against the closed-form LAW of the data. For Gaussian data N(μ, s²) every
  sampler here is affine in x_T and in its noise draws, so its output's law is found exactly
  (no Monte Carlo) by running it on probes: x_T = μ, x_T = μ + 1, and one unit draw at a time.
  Started from N(μ, s² + σ_max²), it must end at mean μ and variance s² + σ_end²; the variance
  error shrinks at the measured weak order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import k_diffusion.sampling as ks
import pytest
import torch
from gaussian_net import gaussian_model

from graphrt.ops.kernels import exponential as E
from graphrt.ops.kernels import sa_solver as SA
from graphrt.ops.kernels.guidance import CFGDenoiser
from graphrt.ops.kernels.samplers import SAMPLER_FNS, NoiseKit
from tests.ops.red_circle import red_circle


@pytest.fixture(scope="module")
def flow() -> dict[str, Any]:
    """The toy's one-Gaussian case ("a red circle on the left"), float64, unquantized."""
    case = red_circle()
    entry = [[case.cond, {}]]
    # equal conditionings: D = D_u + 3·(D_c − D_u) = D_c exactly, and D_u = D_c
    guided = CFGDenoiser(case.toy, entry, entry, 3.0)
    return {"model": case.toy, "mu": case.mu, "s": case.s, "x_t": case.x_t, "guided": guided}


def exact(flow: dict[str, Any], sigma: float) -> torch.Tensor:
    s, smax = flow["s"], flow["model"].sigma_max
    return flow["mu"] + (flow["x_t"] - flow["mu"]) * math.sqrt(s * s + sigma * sigma) / \
        math.sqrt(s * s + smax * smax)


class Ode:
    """A guided denoiser whose sa_solver stochastic interval is empty (τ = 0: an ODE)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.inner(x, sigma)
        return out

    def percent_to_sigma(self, percent: float) -> float:
        return 0.0


def _table(name: str) -> Callable[..., torch.Tensor]:
    return lambda m, x, s: SAMPLER_FNS[name](m, x, s, None, NoiseKit(0))


DETERMINISTIC: dict[str, Callable[..., torch.Tensor]] = {
    **{name: _table(name) for name in ("euler_cfg_pp", "dpmpp_2m_cfg_pp", "res_multistep_cfg_pp",
                                       "gradient_estimation", "gradient_estimation_cfg_pp",
                                       "exp_heun_2_x0")},
    "seeds_2 (eta 0)": lambda m, x, s: E.sample_seeds_2(m, x, s, eta=0.0),
    "seeds_3 (eta 0)": lambda m, x, s: E.sample_seeds_3(m, x, s, eta=0.0),
    "sa_solver (tau 0)": lambda m, x, s: SA.sample_sa_solver(Ode(m), x, s),
    "sa_solver_pece (tau 0)": lambda m, x, s: SA.sample_sa_solver(Ode(m), x, s, pece=True),
}
ORDER: dict[str, tuple[tuple[int, int, int], float]] = {
    "euler_cfg_pp": ((10, 20, 40), 1.8),
    "dpmpp_2m_cfg_pp": ((40, 80, 160), 3.5),
    "res_multistep_cfg_pp": ((20, 40, 80), 3.3),
    "gradient_estimation": ((40, 80, 160), 1.7),
    "gradient_estimation_cfg_pp": ((40, 80, 160), 1.7),
    "exp_heun_2_x0": ((10, 20, 40), 3.8),
    "seeds_2 (eta 0)": ((10, 20, 40), 3.8),
    "seeds_3 (eta 0)": ((10, 20, 40), 6.0),
    "sa_solver (tau 0)": ((10, 20, 40), 8.0),
    "sa_solver_pece (tau 0)": ((20, 40, 80), 8.0),
}
"""(step counts, lower bound of err(n)/err(2n)) up to σ_min. Measured (karras, 10 → 160 steps):
- euler_cfg_pp 2.01, 2.00, 2.00, 2.00: order 1 (it is Euler when D_u = D);
- dpmpp_2m_cfg_pp 2.77, 2.49, 3.68, 3.92 and res_multistep_cfg_pp 0.90, 3.34, 3.95, 4.02:
  order 2 once asymptotic;
- gradient_estimation (and its CFG++ form) 0.70, 1.47, 1.76, 1.89: order 1, a smaller error than
  Euler's at few steps (1.3e-2 against 6.3e-2 at 10 steps);
- exp_heun_2_x0 4.04, 4.06, 4.04 and seeds_2 without noise 3.97, 4.01, 4.01: order 2; seeds_3
  without noise 6.33, 7.51, 7.97: order 3;
- sa_solver with τ = 0 18.6, 30.5, 9.7, 13.8 and with PECE 49.7, 8.2, 12.0, 14.6: between
  order 3 (predictor) and 4 (corrector).
"""


def _run(flow: dict[str, Any], name: str, steps: int, *, to_zero: bool) -> torch.Tensor:
    model = flow["model"]
    sigmas = ks.get_sigmas_karras(steps, model.sigma_min, model.sigma_max).double()
    sigmas = sigmas if to_zero else sigmas[:-1]
    return DETERMINISTIC[name](flow["guided"], flow["x_t"].clone(), sigmas)


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_lands_on_the_closed_form(flow: dict[str, Any], name: str) -> None:
    """40 steps reach x(0) within 0.03 (mostly the last step σ_min → 0, a plain D)."""
    assert (_run(flow, name, 40, to_zero=True) - exact(flow, 0.0)).abs().max() < 0.03


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_error_shrinks_at_the_measured_order(flow: dict[str, Any], name: str) -> None:
    target = exact(flow, flow["model"].sigma_min)
    steps, ratio = ORDER[name]
    errs = [float((_run(flow, name, n, to_zero=False) - target).abs().max()) for n in steps]
    assert errs[0] / errs[1] > ratio and errs[1] / errs[2] > ratio, errs
    if name == "euler_cfg_pp":
        assert errs[1] / errs[2] < 2.3


# -- stochastic samplers: the exact law of the output ------------------------------------------
MU, S = 0.3, 0.8


class Probes:
    """A noise kit whose k-th draw is 1 in batch element 2 + k and 0 elsewhere."""

    mode = "graphrt"

    def __init__(self) -> None:
        self.drawn = 0

    def _sampler(self, x: torch.Tensor) -> Callable[[Any, Any], torch.Tensor]:
        def draw(sigma: Any, sigma_next: Any) -> torch.Tensor:
            z = torch.zeros_like(x)
            z[2 + self.drawn] = 1.0
            self.drawn += 1
            return z

        return draw

    def ancestral(self, x: torch.Tensor, sigmas: torch.Tensor) -> Any:
        return self._sampler(x)

    def brownian(self, x: torch.Tensor, sigmas: torch.Tensor, *, cpu: bool) -> Any:
        return self._sampler(x)


def output_law(name: str, steps: int) -> tuple[float, float]:
    """(mean, variance) of the output at σ_min from x_T ~ N(μ, s² + σ_max²)."""
    model = gaussian_model(mu=MU, spread=S)
    entry = [[torch.zeros(1, 3, 8, dtype=torch.float64), {}]]
    guided = CFGDenoiser(model, entry, entry, 2.0)
    sigmas = ks.get_sigmas_karras(steps, model.sigma_min, model.sigma_max).double()[:-1]
    x = torch.full((2 + 3 * steps, 1, 1, 1), MU, dtype=torch.float64)
    x[1] += 1.0
    kit = Probes()
    out = SAMPLER_FNS[name](guided, x, sigmas, None, kit).reshape(-1)  # type: ignore[arg-type]
    assert 0 < kit.drawn <= x.shape[0] - 2
    mean, gain, draws = out[0], out[1] - out[0], out[2:] - out[0]
    var = gain**2 * (S * S + model.sigma_max**2) + (draws**2).sum()
    return float(mean), float(var)


STOCHASTIC: dict[str, tuple[tuple[int, int, int], float, float]] = {
    "euler_ancestral_cfg_pp": ((40, 80, 160), 1.8, 0.1),
    "dpmpp_2s_ancestral_cfg_pp": ((40, 80, 160), 3.7, 0.01),
    "res_multistep_ancestral_cfg_pp": ((40, 80, 160), 3.9, 0.02),
    "er_sde": ((20, 40, 80), 3.0, 0.002),
    "seeds_2": ((40, 80, 160), 3.8, 0.01),
    "seeds_3": ((40, 80, 160), 3.0, 0.001),
    "exp_heun_2_x0_sde": ((40, 80, 160), 3.6, 0.015),
    "sa_solver": ((40, 80, 160), 3.7, 0.002),
    "sa_solver_pece": ((40, 80, 160), 3.7, 0.002),
    "dpmpp_2m_sde_heun": ((40, 80, 160), 3.9, 0.02),
}
"""(step counts, lower bound of the variance error's err(n)/err(2n), bound on the error at 40
steps). Measured (karras, 10 → 160 steps, error |Var − s² − σ_min²|):
- euler_ancestral_cfg_pp 1.69, 1.83, 1.91, 1.95 (weak order 1; it is euler_ancestral when
  D_u = D); dpmpp_2s_ancestral_cfg_pp 3.38, 3.77, 3.91, 3.96 and seeds_2 3.33, 3.76, 3.93, 3.98:
  order 2; exp_heun_2_x0_sde 3.03, 3.50, 3.76, 3.88: order 2;
- res_multistep_ancestral_cfg_pp 4.47, 4.92, 4.39, 4.17: order 2;
- er_sde 6.16, 4.53, 3.60, 3.03 (then 2.63, 2.35 at 320 and 640 steps): a small error (8e-3 at 20
  steps) falling towards order 1; seeds_3 0.90, 2.38, 3.13, 3.54: order 2 (error 7e-4 at 40);
- sa_solver 48.7, 1.02, 3.90, 3.90 and with PECE 7.17, 2.43, 3.98, 3.90: order 2;
- dpmpp_2m_sde_heun 4.47, 4.92, 4.39, 4.17: order 2 (it is res_multistep_ancestral, below).
The mean is μ to rounding for all (the samplers keep E[x] on the flow's mean).
"""


@pytest.mark.parametrize("name", STOCHASTIC)
def test_output_law_converges_to_the_data(name: str) -> None:
    steps, ratio, bound = STOCHASTIC[name]
    laws = {n: output_law(name, n) for n in sorted({*steps, 40})}
    target = S * S + gaussian_model().sigma_min ** 2
    assert all(abs(mean - MU) < 1e-8 for mean, _ in laws.values())
    errs = [abs(laws[n][1] - target) for n in steps]
    assert errs[0] / errs[1] > ratio and errs[1] / errs[2] > ratio, errs
    assert abs(laws[40][1] - target) < bound


def test_draws_per_step() -> None:
    """seeds_2 and exp_heun_2_x0_sde draw twice a step, seeds_3 three times, the others once
    (names.DRAWS_PER_STEP: how noise mode "comfy" skips a call's earlier steps)."""
    from graphrt.ops.kernels.names import DRAWS_PER_STEP

    model = gaussian_model()
    entry = [[torch.zeros(1, 3, 8), {}]]
    guided = CFGDenoiser(model, entry, entry, 2.0)
    sigmas = ks.get_sigmas_karras(5, model.sigma_min, model.sigma_max)
    for name in ("seeds_2", "seeds_3", "exp_heun_2_x0_sde", "er_sde", "euler_ancestral_cfg_pp"):
        kit = Probes()
        SAMPLER_FNS[name](guided, torch.zeros(20, 1, 1, 1), sigmas, None, kit)  # type: ignore[arg-type]
        assert kit.drawn == 4 * DRAWS_PER_STEP.get(name, 1), name  # no draw on the step to 0


def test_dpmpp_2m_sde_heun_is_res_multistep_ancestral() -> None:
    """k-diffusion's DPM-Solver++(2M) SDE with the Heun correction and graphrt's RES 2nd-order
    multistep with ancestral steps are one method (eta 1): given the same draws they agree to
    rounding, an independent check of both (and, D_u = D, of its CFG++ form)."""
    model = gaussian_model()
    entry = [[torch.zeros(1, 3, 8, dtype=torch.float64), {}]]
    guided = CFGDenoiser(model, entry, entry, 2.0)
    sigmas = ks.get_sigmas_karras(8, model.sigma_min, model.sigma_max).double()
    x = 14.0 * torch.randn(1, 4, 8, 8, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(1))

    class Draws:
        mode = "graphrt"

        def __init__(self) -> None:
            self.gen = torch.Generator().manual_seed(0)

        def ancestral(self, like: torch.Tensor, s: torch.Tensor) -> Any:
            return lambda a, b: torch.randn(like.shape, generator=self.gen, dtype=like.dtype)

        def brownian(self, like: torch.Tensor, s: torch.Tensor, *, cpu: bool) -> Any:
            return self.ancestral(like, s)

    out = {name: SAMPLER_FNS[name](guided, x.clone(), sigmas, None, Draws())  # type: ignore[arg-type]
           for name in ("dpmpp_2m_sde_heun", "res_multistep_ancestral",
                        "res_multistep_ancestral_cfg_pp")}
    want = out.pop("dpmpp_2m_sde_heun")
    for got in out.values():
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_comfy_mode_continues_a_call_past_steps_with_several_draws() -> None:
    """Noise mode "comfy": a node continuing a seeds_2 call skips two draws per earlier step
    (DRAWS_PER_STEP), so the call split into two nodes equals the whole call."""
    from graphrt.ops.kernels.ksampler import sample_range
    from graphrt.ops.sample.basic import Steps

    model = gaussian_model()
    pos, neg = [[torch.full((1, 3, 8), 0.5), {}]], [[torch.zeros(1, 3, 8), {}]]
    lat = {"samples": torch.zeros(1, 4, 8, 8)}
    kw: dict[str, Any] = {"seed": 9, "steps": 4, "cfg": 2.0, "sampler": "seeds_3",
                          "scheduler": "karras", "noise_mode": "comfy"}
    whole = sample_range(model, lat, pos, neg, **kw)
    first = sample_range(model, lat, pos, neg, end=2, leftover_noise=True, **kw)
    second = sample_range(model, first, pos, neg, start=2, add_noise=False, call_start=0, **kw)
    torch.testing.assert_close(second["samples"], whole["samples"], rtol=1e-4, atol=1e-4)
    fresh = sample_range(model, first, pos, neg, start=2, add_noise=False, **kw)
    assert not torch.allclose(fresh["samples"], whole["samples"], atol=1e-3)
    with pytest.raises(ValueError, match="cannot continue a call"):
        Steps(sampler="sa_solver", noise_mode="comfy", start=2, call_start=0)
