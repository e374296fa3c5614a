"""The params every sampler-like op shares: one base, defaults and ranges overridden per op.

`Seeded` (seed, steps) is the base of every sample.* op and macro; `Guidance` (cfg,
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


class Seeded(Params):
    """A seed and a step count: what every sampler-like op has."""

    seed: int = Field(0, ge=0, le=SEED_MAX)
    steps: int = Field(20, ge=1, le=MAX_STEPS)


class Guidance(Params):
    """How to sample: guidance scale, sampler and scheduler."""

    cfg: float = Field(8.0, ge=0.0, le=100.0)
    sampler: SamplerName = "euler"
    scheduler: SchedulerName = "normal"


class Sampling(Seeded, Guidance):
    """Seed, schedule and guidance: the params of ops that sample with their own settings."""
