"""CFG++ samplers (ops/kernels/cfg_pp.py, multistep.py) and what they need from guidance.

With distinct conditionings they are checked against reference loops written here from the
algorithm (docs/semantics.md §14.2: CFG++ renoises with the unconditional prediction D_u, so its
Euler step is x′ = D + σ′·(x − D_u)/σ); with equal ones each equals its plain sampler. Their
guided denoiser evaluates the uncond branch even at cfg 1, and BasicGuider's missing branch is
0 (ComfyUI's empty uncond).
"""

from __future__ import annotations

import math
from typing import Any

import k_diffusion.sampling as ks
import torch
from gaussian_net import cond, gaussian_model

from graphrt.core.meter import measure
from graphrt.ops.kernels.guidance import CFGDenoiser
from graphrt.ops.kernels.ksampler import run_sigmas
from graphrt.ops.kernels.samplers import SAMPLER_FNS, NoiseKit

POS, NEG = cond(0.5), cond(0.0)
MODEL = gaussian_model()


def _noises(n: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    return [torch.randn(1, 4, 8, 8, dtype=torch.float64, generator=g) for _ in range(n)]


class Fixed:
    """A noise kit handing out a fixed list of draws, in order."""

    mode = "graphrt"

    def __init__(self, draws: list[torch.Tensor]) -> None:
        self.draws = list(draws)

    def ancestral(self, x: torch.Tensor, sigmas: torch.Tensor) -> Any:
        return lambda a, b: self.draws.pop(0)


def _setup(pos: Any = POS, neg: Any = NEG, cfg: float = 2.0) -> tuple[Any, Any, Any]:
    guided = CFGDenoiser(MODEL, pos, neg, cfg, always_uncond=True)
    sigmas = ks.get_sigmas_karras(6, MODEL.sigma_min, MODEL.sigma_max).double()
    x = MODEL.sigma_max * _noises(1)[0]
    return guided, sigmas, x


def _pair(guided: Any, x: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    d, du = guided.pair(x, torch.full((1,), sigma, dtype=x.dtype))
    return d, du


def _ancestral(s: float, t: float) -> tuple[float, float]:
    up = min(t, math.sqrt(t * t * (s * s - t * t) / (s * s)))
    return math.sqrt(t * t - up * up), up


def _run(name: str, guided: Any, x: torch.Tensor, sigmas: torch.Tensor,
         kit: Any = None) -> torch.Tensor:
    out: torch.Tensor = SAMPLER_FNS[name](guided, x.clone(), sigmas, None, kit or NoiseKit(0))
    return out


def test_euler_and_euler_ancestral_cfg_pp_against_the_reference_loop() -> None:
    guided, sigmas, x0 = _setup()
    draws = _noises(7)[1:]
    for name, ancestral in (("euler_cfg_pp", False), ("euler_ancestral_cfg_pp", True)):
        x, s, noise = x0.clone(), sigmas.tolist(), list(draws)
        for i in range(len(s) - 1):
            d, du = _pair(guided, x, s[i])
            if s[i + 1] == 0:
                x = d
                continue
            down, up = _ancestral(s[i], s[i + 1]) if ancestral else (s[i + 1], 0.0)
            x = d + down * (x - du) / s[i]
            if ancestral:
                x = x + up * noise.pop(0)
        got = _run(name, guided, x0, sigmas, Fixed(draws))
        torch.testing.assert_close(got, x, rtol=1e-7, atol=1e-7)


def test_dpmpp_2m_and_2s_ancestral_cfg_pp_against_the_reference_loops() -> None:
    guided, sigmas, x0 = _setup()
    s, lam = sigmas.tolist(), [-math.log(v) if v > 0 else math.inf for v in sigmas.tolist()]
    # 2M: x' = D + e^{-h}(x − D_u) − (e^{-h} − 1)/(2r)·(D − D_u,prev), r = h_prev/h
    x, old = x0.clone(), None
    for i in range(len(s) - 1):
        d, du = _pair(guided, x, s[i])
        h = lam[i + 1] - lam[i]
        x = d + math.exp(-h) * (x - du)
        if old is not None and s[i + 1] > 0:
            x = x - math.expm1(-h) / (2 * (lam[i] - lam[i - 1]) / h) * (d - old)
        old = du
    torch.testing.assert_close(_run("dpmpp_2m_cfg_pp", guided, x0, sigmas), x, rtol=1e-9,
                               atol=1e-9)
    # 2S ancestral: DPM-Solver++(2S) on D_u to σ_down, noise σ_up·z, then + (D − D_u)
    draws = _noises(7)[1:]
    x, noise = x0.clone(), list(draws)
    for i in range(len(s) - 1):
        d, du = _pair(guided, x, s[i])
        down, up = _ancestral(s[i], s[i + 1])
        if down == 0:
            x = du
        else:
            h = math.log(s[i]) - math.log(down)
            mid = s[i] * math.exp(-h / 2)
            _, du_2 = _pair(guided, (mid / s[i]) * x - math.expm1(-h / 2) * du, mid)
            x = (down / s[i]) * x - math.expm1(-h) * du_2
        if s[i + 1] > 0:
            x = x + up * noise.pop(0)
        x = x + (d - du)
    got = _run("dpmpp_2s_ancestral_cfg_pp", guided, x0, sigmas, Fixed(draws))
    torch.testing.assert_close(got, x, rtol=1e-7, atol=1e-7)


def test_gradient_estimation_and_res_multistep_cfg_pp_against_the_reference_loops() -> None:
    guided, sigmas, x0 = _setup()
    s = sigmas.tolist()
    # gradient estimation (γ = 2), CFG++: x' = D + σ'·d + (d − d_prev)·(σ' − σ), d = (x − D_u)/σ
    x, old = x0.clone(), None
    for i in range(len(s) - 1):
        d, du = _pair(guided, x, s[i])
        grad = (x - du) / s[i]
        x = d if s[i + 1] == 0 else d + grad * s[i + 1]
        if s[i + 1] > 0 and old is not None:
            x = x + (grad - old) * (s[i + 1] - s[i])
        old = grad
    torch.testing.assert_close(_run("gradient_estimation_cfg_pp", guided, x0, sigmas), x,
                               rtol=1e-7, atol=1e-7)
    # RES 2nd-order multistep, CFG++: x ← x + (D − D_u), then e^{-h}x + h(b1·D_u + b2·D_u,prev)
    x, old = x0.clone(), None
    for i in range(len(s) - 1):
        d, du = _pair(guided, x, s[i])
        if s[i + 1] == 0 or old is None:
            x = d + (x - du) / s[i] * s[i + 1]
        else:
            h = math.log(s[i]) - math.log(s[i + 1])
            c2 = (math.log(s[i]) - math.log(s[i - 1])) / h  # ComfyUI's (λ_{i−1} − λ_old)/h
            phi1 = math.expm1(-h) / -h
            phi2 = (phi1 - 1) / -h
            x = x + (d - du)
            x = math.exp(-h) * x + h * ((phi1 - phi2 / c2) * du + phi2 / c2 * old)
        old = du
    torch.testing.assert_close(_run("res_multistep_cfg_pp", guided, x0, sigmas), x, rtol=1e-9,
                               atol=1e-9)


def test_with_equal_conditionings_each_equals_its_plain_sampler() -> None:
    """D_u = D: CFG++ is the sampler it modifies (k-diffusion's, same noise)."""
    guided, sigmas, x0 = _setup(POS, POS, 3.0)
    draws = _noises(7)[1:]
    plain = {"euler_cfg_pp": ks.sample_euler, "euler_ancestral_cfg_pp": ks.sample_euler_ancestral,
             "dpmpp_2m_cfg_pp": ks.sample_dpmpp_2m,
             "dpmpp_2s_ancestral_cfg_pp": ks.sample_dpmpp_2s_ancestral}
    for name, fn in plain.items():
        kw = {} if name in ("euler_cfg_pp", "dpmpp_2m_cfg_pp") else {
            "noise_sampler": Fixed(draws).ancestral(x0, sigmas)}
        want = fn(guided, x0.clone(), sigmas, disable=True, **kw)
        got = _run(name, guided, x0, sigmas, Fixed(draws))
        torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-7, msg=name)
    for name in ("res_multistep", "res_multistep_ancestral", "gradient_estimation"):
        want = _run(name, guided, x0, sigmas, Fixed(draws))
        got = _run(f"{name}_cfg_pp", guided, x0, sigmas, Fixed(draws))
        torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-7, msg=name)


def test_cfg_pp_evaluates_the_uncond_branch_even_at_cfg_one() -> None:
    lat = {"samples": torch.zeros(1, 4, 8, 8)}
    sig = [14.6, 3.0, 0.0]
    with measure() as m:
        a = run_sigmas(MODEL, lat, POS, NEG, sig, seed=1, cfg=1.0, sampler="euler_cfg_pp",
                       add_noise=True)
    b = run_sigmas(MODEL, lat, POS, NEG, sig, seed=1, cfg=1.0, sampler="euler",
                   add_noise=True)
    assert m["model_calls"] == 2  # one batched evaluation per step, uncond included
    assert not torch.equal(a["samples"], b["samples"])  # D_u ≠ D_c steers the renoising
    same = run_sigmas(MODEL, lat, POS, POS, sig, seed=1, cfg=1.0, sampler="euler_cfg_pp",
                      add_noise=True)
    torch.testing.assert_close(same["samples"], b["samples"])


def test_basic_guider_gives_cfg_pp_a_zero_uncond() -> None:
    """BasicGuider has no negative: ComfyUI's uncond prediction is then 0 (x′ = D + σ′x/σ)."""
    guider = {"model": MODEL, "positive": POS, "negative": [], "cfg": 1.0}
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(2)) * 3.0
    lat = {"samples": x / MODEL.latent_scale}
    out = run_sigmas(MODEL, lat, POS, [], [3.0, 1.0], seed=0, cfg=1.0, sampler="euler_cfg_pp",
                     add_noise=False, guider=guider)
    d = MODEL.denoise(x, torch.tensor([3.0]), POS[0][0])
    torch.testing.assert_close(out["samples"] * MODEL.latent_scale, d + x / 3.0, rtol=1e-5,
                               atol=1e-5)
