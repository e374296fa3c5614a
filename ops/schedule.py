"""schedule.* and sigmas.*: noise schedules as values (ComfyUI's SIGMAS), and their edits.

A SIGMAS value is a plain list of floats, as `sample.steps` computes them, so a schedule
built here and run by `sample.custom` is the one KSampler runs. The ops follow ComfyUI's
scheduler nodes (comfy_extras/nodes_custom_sampler.py): `schedule.basic` is BasicScheduler
(the model's table, the tail of sched(int(steps/denoise)), no penultimate-sigma drop),
`schedule.karras|exponential|polyexponential` are k-diffusion's closed forms over
[sigma_min, sigma_max], `schedule.sd_turbo` is SDTurboScheduler's ten timesteps, and
`sigmas.split|split_denoise|flip` slice and reverse as ComfyUI's tensors do, and
`sigmas.get_sigma` is ComfyUI_Noise's BNK_GetSigma. The schedules declare their step count
as their cost (the samplers that run them cannot know it when planning). ComfyUI
computes the closed forms in float32; here they are float64 until the sampler's float32
tensor, so a value may differ from ComfyUI's in its last float32 bit.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Self

from pydantic import Field, model_validator

from graphrt.core.op import NoParams, Params, op
from graphrt.core.types import Float

from .sample.basic import step_cost
from .sample.params import MAX_STEPS, SamplerName, SchedulerName
from .types import Model, Sigmas

DEFAULT_SIGMA_MAX = 14.614642  # ComfyUI's widget defaults (SD 1.x's table ends)
DEFAULT_SIGMA_MIN = 0.0291675
MAX_SIGMA = 5000.0


class Basic(Params):
    scheduler: SchedulerName = "normal"
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    denoise: float = Field(1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _total(self) -> Self:
        if 0.0 < self.denoise < 1.0 and int(self.steps / self.denoise) > MAX_STEPS:
            raise ValueError(f"steps/denoise = {self.steps}/{self.denoise} gives "
                             f"{int(self.steps / self.denoise)} total steps (max {MAX_STEPS})")
        return self


@op("schedule.basic", version=1, cost=step_cost)
def basic(p: Basic, model: Model) -> Sigmas:
    """The model's `scheduler` schedule (BasicScheduler): sched(steps) at denoise 1, [] at
    denoise ≤ 0, else the last steps+1 sigmas of sched(int(steps/denoise))."""
    from .kernels.schedules import calculate_sigmas

    total = p.steps
    if p.denoise < 1.0:
        if p.denoise <= 0.0:
            return []
        total = int(p.steps / p.denoise)
    return calculate_sigmas(p.scheduler, total, model.table)[-(p.steps + 1):]


class Range(Params):
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    sigma_max: float = Field(DEFAULT_SIGMA_MAX, ge=0.0, le=MAX_SIGMA)
    sigma_min: float = Field(DEFAULT_SIGMA_MIN, ge=0.0, le=MAX_SIGMA)


class Karras(Range):
    rho: float = Field(7.0, ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _rho(self) -> Self:
        if self.rho == 0.0:
            raise ValueError("rho must be > 0 (the Karras ramp takes the 1/rho-th root)")
        return self


def _ramp(a: float, b: float, n: int) -> list[float]:
    """torch.linspace(a, b, n): n points from a to b inclusive (n = 1 gives [a])."""
    return [a] if n == 1 else [a + (b - a) * i / (n - 1) for i in range(n)]


@op("schedule.karras", version=1, cost=step_cost)
def karras(p: Karras) -> Sigmas:
    """(σmax^(1/ρ) + r·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ for r = 0 … 1 in `steps` points, then 0
    (KarrasScheduler)."""
    hi, lo = p.sigma_max ** (1 / p.rho), p.sigma_min ** (1 / p.rho)
    return [(hi + r * (lo - hi)) ** p.rho for r in _ramp(0.0, 1.0, p.steps)] + [0.0]


class Exponential(Range):
    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.sigma_min <= 0.0 or self.sigma_max <= 0.0:
            raise ValueError("sigma_min and sigma_max must be > 0 (the schedule is in log σ)")
        return self


@op("schedule.exponential", version=1, cost=step_cost)
def exponential(p: Exponential) -> Sigmas:
    """exp of `steps` points evenly spaced from ln σmax to ln σmin, then 0
    (ExponentialScheduler)."""
    ramp = _ramp(math.log(p.sigma_max), math.log(p.sigma_min), p.steps)
    return [math.exp(v) for v in ramp] + [0.0]


class Polyexponential(Exponential):
    rho: float = Field(1.0, ge=0.0, le=100.0)


@op("schedule.polyexponential", version=1, cost=step_cost)
def polyexponential(p: Polyexponential) -> Sigmas:
    """exp(r^ρ·(ln σmax − ln σmin) + ln σmin) for r = 1 … 0 in `steps` points, then 0
    (PolyexponentialScheduler)."""
    lo, hi = math.log(p.sigma_min), math.log(p.sigma_max)
    return [math.exp(r**p.rho * (hi - lo) + lo) for r in _ramp(1.0, 0.0, p.steps)] + [0.0]


class SDTurbo(Params):
    steps: int = Field(1, ge=1, le=10)
    denoise: float = Field(1.0, ge=0.0, le=1.0)


@op("schedule.sd_turbo", version=1, cost=step_cost)
def sd_turbo(p: SDTurbo, model: Model) -> Sigmas:
    """σ at timesteps 999, 899, …, 99 from index 10 − int(10·denoise), `steps` of them (fewer
    at the end of the ten), then 0 (SDTurboScheduler)."""
    from .kernels.table import t_to_sigma

    start = 10 - int(10 * p.denoise)
    timesteps = [t * 100 - 1 for t in range(10, 0, -1)][start:start + p.steps]
    return [t_to_sigma(float(t), model.table) for t in timesteps] + [0.0]


class Split(Params):
    step: int = Field(0, ge=0, le=MAX_STEPS)


class SplitOut(NamedTuple):
    high_sigmas: Sigmas
    low_sigmas: Sigmas


@op("sigmas.split", version=1)
def split(p: Split, sigmas: Sigmas) -> SplitOut:
    """sigmas[:step+1] and sigmas[step:]: the two share σ[step] (SplitSigmas)."""
    return SplitOut(list(sigmas[: p.step + 1]), list(sigmas[p.step:]))


class SplitDenoise(Params):
    denoise: float = Field(1.0, ge=0.0, le=1.0)


@op("sigmas.split_denoise", version=1)
def split_denoise(p: SplitDenoise, sigmas: Sigmas) -> SplitOut:
    """With k = round((len − 1)·denoise): sigmas[:-k] and the last k+1 (SplitSigmasDenoise).
    As in ComfyUI, k = 0 makes the high part empty (a slice [:-0])."""
    k = round(max(len(sigmas) - 1, 0) * p.denoise)
    return SplitOut(list(sigmas[:-k]), list(sigmas[-(k + 1):]))


@op("sigmas.flip", version=1)
def flip(p: NoParams, sigmas: Sigmas) -> Sigmas:
    """The list reversed; a leading 0 becomes 0.0001 (FlipSigmas)."""
    out: list[Any] = list(reversed(list(sigmas)))
    if out and out[0] == 0:
        out[0] = 0.0001
    return out


class GetSigma(Params):
    sampler: SamplerName = "euler"
    scheduler: SchedulerName = "normal"
    steps: int = Field(10000, ge=0, le=MAX_STEPS)
    start_at_step: int = Field(0, ge=0, le=MAX_STEPS)
    end_at_step: int = Field(10000, ge=1, le=MAX_STEPS)


@op("sigmas.get_sigma", version=1, cost=step_cost)
def get_sigma(p: GetSigma, model: Model) -> Float:
    """(σ[start] − σ[end]) / latent scale of KSampler's schedule at denoise 1, end ≤ steps and
    start ≤ end, in float32: the noise between two steps in raw latent units (ComfyUI_Noise's
    BNK_GetSigma); 0 for 0 steps."""
    import torch

    from .kernels.steps import base_sigmas

    if p.steps == 0:
        return 0.0
    sigmas = torch.tensor(base_sigmas(p.sampler, p.scheduler, p.steps, table=model.table),
                          dtype=torch.float32)
    end = min(p.steps, p.end_at_step)
    start = min(p.start_at_step, end)
    return float((sigmas[start] - sigmas[end]) / model.latent_scale)
