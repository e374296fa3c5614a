"""Sampler name → function, over k-diffusion 0.1.1.post1 plus ComfyUI's additions (§14).

Every entry has one signature, `fn(model, x, sigmas, callback, noise) -> x`, where `noise` is
a `NoiseKit`: where the range's stochastic samplers get their noise. Noise mode "graphrt"
(docs/design-notes.md): ancestral samplers (and ddpm, lcm) draw per-step noise keyed by
(seed, absolute step index); SDE samplers use one CPU Brownian tree over the full schedule;
`_gpu` names are exact aliases of the SDE samplers. Noise mode "comfy" (comfy_noise.py,
docs/reproducibility.md): ComfyUI's one generator per call and its Brownian tree over the
call's own range (or the span the caller names), on the devices ComfyUI uses.

Split runs (graphrt mode): for the samplers in `SPLIT_INVARIANT`, running [0,k) with
leftover noise and then [k,n) without adding noise equals one run [0,n). The multistep
samplers (lms, dpmpp_2m, dpmpp_2m_sde, dpmpp_3m_sde and their _gpu aliases) restart their
history at a range boundary, as in ComfyUI, so a split is NOT equal to one run; neither is it
for heunpp2 (weights use the range's σ₀ and its end), dpm_fast and dpm_adaptive (they only see
the range's endpoints).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

with warnings.catch_warnings():  # k-diffusion's clip dependency warns about pkg_resources
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import k_diffusion.sampling as K

from . import extra_samplers as X
from .comfy_noise import ComfyAncestral, comfy_tree
from .names import (
    MULTISTEP,
    RANGE_DEPENDENT,
    SAMPLERS,
    SPLIT_INVARIANT,
    STOCHASTIC,
    check_sampler,
)
from .noise import BrownianNoise, StepNoise

ModelFn = Callable[..., torch.Tensor]
KCallback = Callable[[dict[str, Any]], None] | None

__all__ = [
    "MULTISTEP",
    "RANGE_DEPENDENT",
    "SAMPLERS",
    "SAMPLER_FNS",
    "SPLIT_INVARIANT",
    "STOCHASTIC",
    "NoiseKit",
    "run_sampler",
]


NoiseSampler = Callable[[Any, Any], torch.Tensor]


@dataclass(frozen=True)
class NoiseKit:
    """Noise sources of one range (docs/reproducibility.md).

    - mode "graphrt": per-step noise keyed by (seed, offset + i); the Brownian tree spans
      `span` (the full schedule), seeded with the seed, on CPU.
    - mode "comfy": one generator per call (`skip` draws of earlier steps of the same call
      discarded); ComfyUI's tree over `span` (empty: the range's own list), on CPU, or on
      x's device for the `_gpu` samplers.
    """

    seed: int
    mode: str = "graphrt"
    offset: int = 0
    span: tuple[float, ...] = ()
    skip: int = 0

    def ancestral(self, x: torch.Tensor, sigmas: torch.Tensor) -> NoiseSampler:
        if self.mode == "comfy":
            return ComfyAncestral(x, self.seed, skip=self.skip)
        return StepNoise(x, sigmas, self.seed, offset=self.offset)

    def brownian(self, x: torch.Tensor, sigmas: torch.Tensor, *, cpu: bool) -> NoiseSampler:
        if self.mode == "comfy":
            span = torch.tensor(self.span, dtype=torch.float32) if self.span else sigmas
            return comfy_tree(x, span, self.seed, cpu=cpu)
        return BrownianNoise(x, self.span or sigmas.tolist(), self.seed)


Sampler = Callable[[ModelFn, torch.Tensor, torch.Tensor, KCallback, NoiseKit], torch.Tensor]


def _plain(fn: Callable[..., torch.Tensor]) -> Sampler:
    return lambda m, x, s, cb, nk: fn(m, x, s, callback=cb, disable=True)


def _ancestral(fn: Callable[..., torch.Tensor]) -> Sampler:
    return lambda m, x, s, cb, nk: fn(
        m, x, s, callback=cb, disable=True, noise_sampler=nk.ancestral(x, s)
    )


def _own(fn: Callable[..., torch.Tensor]) -> Sampler:
    return lambda m, x, s, cb, nk: fn(m, x, s, callback=cb, noise_sampler=nk.ancestral(x, s))


def _sde(fn: Callable[..., torch.Tensor], *, cpu: bool = True,
         comfy: Callable[..., torch.Tensor] | None = None) -> Sampler:
    """An SDE sampler; `cpu`: where ComfyUI builds its tree (False for the `_gpu` names);
    `comfy`: ComfyUI's own form of the solver, run in noise mode "comfy"."""

    def run(
        m: ModelFn, x: torch.Tensor, s: torch.Tensor, cb: KCallback, nk: NoiseKit
    ) -> torch.Tensor:
        if len(s) < 2:
            return x
        if len(s) == 2 and float(s[1]) == 0.0:
            # one step to 0 is x ← D; k-diffusion 0.1.1.post1's 2M/3M SDE raise
            # UnboundLocalError (h) there
            denoised = m(x, s[0] * x.new_ones([x.shape[0]]))
            if cb is not None:
                cb({"x": x, "i": 0, "sigma": s[0], "sigma_hat": s[0], "denoised": denoised})
            return denoised
        ns = nk.brownian(x, s, cpu=cpu)
        if nk.mode == "comfy" and comfy is not None:
            return comfy(m, x, s, callback=cb, noise_sampler=ns)
        return fn(m, x, s, callback=cb, disable=True, noise_sampler=ns)

    return run


def _heun(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """k-diffusion's 2M SDE with the Heun solver type (ComfyUI's dpmpp_2m_sde_heun)."""
    return lambda *a, **kw: fn(*a, solver_type="heun", **kw)


def _dpm_solver(adaptive: bool) -> Sampler:
    """§14.1 adapter: σ_min = last σ (the one before if it is 0), σ_max = S[0], n = len(S)−1."""

    def run(
        m: ModelFn, x: torch.Tensor, s: torch.Tensor, cb: KCallback, nk: NoiseKit
    ) -> torch.Tensor:
        if len(s) <= 1:
            return x
        lo, hi = (float(s[-1]) or float(s[-2])), float(s[0])
        # eta = 0, but k-diffusion still calls its noise sampler: keep randn_like out of it
        kw = {"callback": cb, "disable": True, "noise_sampler": lambda a, b: torch.zeros_like(x)}
        out: torch.Tensor
        if adaptive:
            out = K.sample_dpm_adaptive(m, x, lo, hi, **kw)
        else:
            out = K.sample_dpm_fast(m, x, lo, hi, len(s) - 1, **kw)
        return out

    return run


_FNS: dict[str, Sampler] = {
    "euler": _plain(K.sample_euler),
    "euler_ancestral": _ancestral(K.sample_euler_ancestral),
    "heun": _plain(K.sample_heun),
    "heunpp2": lambda m, x, s, cb, nk: X.sample_heunpp2(m, x, s, callback=cb),
    "dpm_2": _plain(K.sample_dpm_2),
    "dpm_2_ancestral": _ancestral(K.sample_dpm_2_ancestral),
    "lms": _plain(K.sample_lms),
    "dpm_fast": _dpm_solver(adaptive=False),
    "dpm_adaptive": _dpm_solver(adaptive=True),
    "dpmpp_2s_ancestral": _ancestral(K.sample_dpmpp_2s_ancestral),
    "dpmpp_sde": _sde(K.sample_dpmpp_sde, comfy=X.sample_dpmpp_sde_comfy),
    "dpmpp_sde_gpu": _sde(K.sample_dpmpp_sde, cpu=False, comfy=X.sample_dpmpp_sde_comfy),
    "dpmpp_2m": _plain(K.sample_dpmpp_2m),
    "dpmpp_2m_sde": _sde(K.sample_dpmpp_2m_sde),
    "dpmpp_2m_sde_gpu": _sde(K.sample_dpmpp_2m_sde, cpu=False),
    "dpmpp_3m_sde": _sde(K.sample_dpmpp_3m_sde),
    "dpmpp_3m_sde_gpu": _sde(K.sample_dpmpp_3m_sde, cpu=False),
    "ddpm": _own(X.sample_ddpm),
    "lcm": _own(X.sample_lcm),
    "dpmpp_2m_sde_heun": _sde(_heun(K.sample_dpmpp_2m_sde)),
    "dpmpp_2m_sde_heun_gpu": _sde(_heun(K.sample_dpmpp_2m_sde), cpu=False),
    "ddim": _plain(K.sample_euler),  # its seed+1 inpaint noise lives in the caller (§4.2)
}
_FNS.update(X.NEW_SAMPLER_FNS)  # ComfyUI's later samplers (multistep.py, unipc.py, ...)
SAMPLER_FNS: dict[str, Sampler] = {name: _FNS[name] for name in SAMPLERS}  # ComfyUI's order
assert set(_FNS) == set(SAMPLERS)


def run_sampler(
    name: str,
    model: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    noise: NoiseKit,
    callback: KCallback = None,
) -> torch.Tensor:
    """Run sampler `name` over `sigmas` from x, its noise from `noise`.

    k-diffusion's Euler-family samplers call randn_like even without churn, so the global
    RNG state is saved and restored around the call (randomness here is all private); off
    CUDA that is the CPU generator's alone, kept without fork_rng's device lookups.
    """
    fn = SAMPLER_FNS[check_sampler(name)]
    if x.device.type == "cuda":
        with torch.random.fork_rng(devices=[x.device]), torch.no_grad():
            return fn(model, x, sigmas, callback, noise)
    state = torch.get_rng_state()
    try:
        with torch.set_grad_enabled(False):
            return fn(model, x, sigmas, callback, noise)
    finally:
        torch.set_rng_state(state)
