"""sample.regional_fused — the regional sampler with one model call per step.

It runs `sample.regional` with `order: "parallel"` (restore_latent on, not legacy), batching
the base and every region evaluation of a step into ONE `DiffusionModel.denoise` call; the
result equals the unrolled graph within float tolerance (tests/seeds). It is a macro: the
masks (the base's inverse mask, each region's grown mask) are nodes of their own, as in the
unrolled graph, so reruns with new seeds or steps take them from the cache; the sampling loop
is one node, `sample.regional_batched`. Exact only where batching is: one model shared by
all bundles, and samplers that evaluate the model once per step (euler, euler_ancestral,
ddim, dpmpp_2m, lms, ddpm, lcm; anything else is an error). Those are outside Impact's SP
set, so recovery modes never apply and are not params here. Impact's own (sequential) order
cannot be fused: see kernels/fused.py.
"""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from graphrt.core.context import OpContext
from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.op import macro, op

from ..region import region_links
from ..types import Latent, Mask, RegionalPrompts, Sampler
from .basic import step_cost
from .regional import RegionalSteps, grown_masks


class Fused(RegionalSteps):
    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > self.last:
            raise ValueError(f"start ({self.start}) is past min(steps, end)")
        return self


def _fused_calls(p: Fused) -> int:
    return max(p.last - p.start, 0)  # one call per step (FUSABLE samplers)


@op("sample.regional_batched", version=1, model_calls=_fused_calls, cost=step_cost,
    device=True)
def regional_batched(p: Fused, latent: Latent, base_sampler: Sampler,
                     regional_prompts: RegionalPrompts, inv: Mask, *grown: Mask,
                     ctx: OpContext) -> Latent:
    """The parallel regional loop over precomputed masks (`inv` outside every region, one
    grown mask per region, in order), the base and region evaluations of a step batched
    into one model call."""
    from ..kernels.fused import check_fusable, fused_regional

    bundles = [r["sampler"] for r in regional_prompts]
    if len(grown) != len(bundles):
        raise ValueError(f"{len(bundles)} regions but {len(grown)} grown masks")
    check_fusable(base_sampler, bundles)
    return fused_regional(latent, base_sampler, list(zip(grown, bundles, strict=True)), inv,
                          seed=p.seed, steps=p.steps, start=p.start, end=p.end,
                          add_noise=p.add_noise, leftover=p.leftover_noise,
                          base_only_steps=p.base_only_steps, noise_mode=p.noise_mode,
                          on_step=lambda i, n: ctx.progress(i, n))


@macro("sample.regional_fused", version=2)
def regional_fused(p: Fused, g: Builder, latent: Ref[Latent], base_sampler: Ref[Sampler],
                   regional_prompts: Ref[RegionalPrompts]) -> Ref[Latent]:
    """`sample.regional` (parallel order) with base and region evaluations of a step batched
    into one model call (docs/semantics.md §8 masks and steps; see the module docstring)."""
    inv, grown = grown_masks(g, p, region_links(g, regional_prompts))
    return g.add("sample.regional_batched", p, id="loop", latent=latent,
                 base_sampler=base_sampler, regional_prompts=regional_prompts, inv=inv,
                 grown=grown).out
