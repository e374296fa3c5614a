"""sample.split_v1: SeargeSDXLSampler, the first Searge sampler (SeargeSDXL's
modules/_legacy.py; docs/comfyui-workflows.md), a macro over `sample.steps`.

B = int(steps·base_ratio) (no epsilon, unlike sample.split). denoise < 0.01 returns the
input latent; B ≥ steps is one base run; otherwise the base samples [0, B) of
sched(steps) at `denoise` keeping its leftover noise, and the refiner continues [B, steps)
of the full schedule (denoise 1) without adding noise, as two KSamplerAdvanced calls would.
"""

from __future__ import annotations

from pydantic import Field

from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.op import macro

from ..types import Conditioning, Latent, Model
from .params import MAX_STEPS, SamplerName, Sampling, SchedulerName


class SplitV1(Sampling):
    steps: int = Field(30, ge=1, le=MAX_STEPS)
    cfg: float = Field(7.0, ge=0.0, le=100.0)
    sampler: SamplerName = "dpmpp_2m"
    scheduler: SchedulerName = "karras"
    base_ratio: float = Field(0.8, ge=0.0, le=1.0)
    denoise: float = Field(1.0, ge=0.0, le=1.0)


@macro("sample.split_v1", version=1)
def split_v1(p: SplitV1, g: Builder, base_model: Ref[Model], base_positive: Ref[Conditioning],
             base_negative: Ref[Conditioning], refiner_model: Ref[Model],
             refiner_positive: Ref[Conditioning], refiner_negative: Ref[Conditioning],
             latent: Ref[Latent]) -> Ref[Latent]:
    """SeargeSDXLSampler: the base samples [0, B) with leftover noise, the refiner finishes
    [B, steps) of the undenoised schedule without new noise."""
    if p.denoise < 0.01:
        return latent
    b = int(p.steps * p.base_ratio)
    common = {"seed": p.seed, "steps": p.steps, "cfg": p.cfg, "sampler": p.sampler,
              "scheduler": p.scheduler, "noise_mode": p.noise_mode}
    base = {"model": base_model, "positive": base_positive, "negative": base_negative}
    if b >= p.steps:  # one whole call, as a KSampler node makes
        return g.add("sample.steps", {**common, "denoise": p.denoise}, id="base",
                     latent=latent, **base).out
    latent = g.add("sample.steps", {**common, "denoise": p.denoise, "start": 0, "end": b,
                                    "leftover_noise": True}, id="base", latent=latent,
                   **base).out
    return g.add("sample.steps", {**common, "add_noise": False, "start": b, "end": p.steps},
                 id="refiner", latent=latent, model=refiner_model,
                 positive=refiner_positive, negative=refiner_negative).out
