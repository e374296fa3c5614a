"""The params every sampler-like op shares: one base, defaults and ranges overridden per op.

`Seeded` (seed, steps, noise_mode) is the base of every sample.* op and macro; `Guidance` (cfg,
sampler, scheduler) that of everything that names how to sample, a SAMPLER bundle included;
`Sampling` is both, for ops that sample with their own settings rather than taking them from
SAMPLER bundles. Subclasses narrow ranges or change defaults (Searge's
samplers default to ddim / ddim_uniform, the unsampler's cfg to 1) by redeclaring a field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graphrt.core.op import Params

from ..kernels.names import SAMPLERS
from ..kernels.schedules import SCHEDULERS

SamplerName = Literal[SAMPLERS]  # type: ignore[valid-type]
SchedulerName = Literal[SCHEDULERS]  # type: ignore[valid-type]
MAX_STEPS = 10_000
SEED_MAX = 2**64 - 1
SEED_MOD = 2**64
NoiseMode = Literal["graphrt", "comfy"]


class Seeded(Params):
    """A seed, a step count and where stochastic samplers draw their noise: what every
    sampler-like op has. The noise modes are defined in docs/reproducibility.md."""

    seed: int = Field(0, ge=0, le=SEED_MAX)
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    noise_mode: NoiseMode = Field("graphrt", description=(
        "graphrt: per-step noise keyed by (seed, step), split-invariant and the same on CPU "
        "and GPU; comfy: ComfyUI's noise (one generator per sampler call, Brownian tree over "
        "the call's sigma range), the pictures ComfyUI gives"))


class Guidance(Params):
    """How to sample: guidance scale, sampler and scheduler."""

    cfg: float = Field(8.0, ge=0.0, le=100.0)
    sampler: SamplerName = "euler"
    scheduler: SchedulerName = "normal"


class Sampling(Seeded, Guidance):
    """Seed, schedule and guidance: the params of ops that sample with their own settings."""
