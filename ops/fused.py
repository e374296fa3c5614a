"""sample.regional_fused — the regional sampler with one model call per step.

It runs `sample.regional` with `order: "parallel"` (restore_latent on, not legacy) inside one
op, batching the base and every region evaluation of a step into ONE `DiffusionModel.denoise`
call; the result equals the unrolled graph within float tolerance (tests/seeds). Exact only
where batching is: one model shared by all bundles, and samplers that evaluate the model once
per step (euler, euler_ancestral, ddim, dpmpp_2m, lms, ddpm, lcm; anything else is an error).
Those are outside Impact's SP set, so recovery modes never apply and are not params here.
Impact's own (sequential) order cannot be fused: see diffusion/fused.py.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from graphrt import Params, op
from graphrt.types import Latent, RegionalPrompts, Sampler

from .sample import MAX_STEPS, SEED_MAX, _Counting, _on


class Fused(Params):
    seed: int = Field(0, ge=0, le=SEED_MAX)
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    start: int = Field(0, ge=0, le=MAX_STEPS)
    end: int = Field(MAX_STEPS, ge=0, le=MAX_STEPS, description="clamped to steps")
    add_noise: bool = True
    overlap_factor: int = Field(10, ge=0, le=1000, description="mask growth, mask pixels")
    leftover_noise: bool = False
    base_only_steps: int = Field(0, ge=0, le=MAX_STEPS)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > min(self.steps, self.end):
            raise ValueError(f"start ({self.start}) is past min(steps, end)")
        return self


def _fused_calls(p: Fused) -> int:
    return max(min(p.steps, p.end) - p.start, 0)  # one call per step (FUSABLE samplers)


@op("sample.regional_fused", version=1, model_calls=_fused_calls)
def regional_fused(p: Fused, latent: Latent, base_sampler: Sampler,
                   regional_prompts: RegionalPrompts, *, ctx: Any = None) -> Latent:
    """`sample.regional` (parallel order) with base and region evaluations of a step batched
    into one model call (SEMANTICS §8 masks and steps; see the module docstring)."""
    from .diffusion.fused import check_fusable, fused_regional
    from .imaging import grow_mask_impact
    from .region import outside

    bundles = [r["sampler"] for r in regional_prompts]
    model = check_fusable(base_sampler, bundles)
    masks = [r["mask"] for r in regional_prompts]
    inv = outside.op_spec.fn(outside.op_spec.params(), *masks)
    grown = [grow_mask_impact(m, p.overlap_factor, int(m.shape[-1]), int(m.shape[-2]))
             for m in masks]
    with _Counting(model, ctx) as cb:
        on_step = None if cb is None else (lambda i, n: cb(i - 1, n, None))
        return fused_regional(_on(latent, ctx), base_sampler, list(zip(grown, bundles,
                                                                         strict=True)),
                              inv, seed=p.seed, steps=p.steps, start=p.start, end=p.end,
                              add_noise=p.add_noise, leftover=p.leftover_noise,
                              base_only_steps=p.base_only_steps, on_step=on_step)
