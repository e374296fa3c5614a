"""sample.regional (RegionalSamplerAdvanced, docs/semantics.md §8) and sample.masked_pair
(TwoAdvancedSamplersForMask as upstream runs it now, §9.2): macros that unroll the per-step
interleaving of the base sampler and the region samplers into primitive nodes.

Every step call is Impact's sample_advanced (impact.py: `sample.separated`, plus the recovery
passes for SP samplers); masks are `region.outside` (inv_mask) and `mask.grow` (impact mode,
units of the mask's own pixels, §6.2); restore_latent composites with
`latent.composite_masked`. So `graphrt plan` lists every step of every region, and each is
keyed and cached on its own.

Fixed by default (§15 #7), with `legacy: true` reproducing Impact ≤ 790adc3 (§8.3 items 1–2):
- fixed: the loop covers steps start … end−1, regions included, and the last step uses
  `leftover_noise`; nothing is discarded under restore_latent; start > end is an error;
- legacy: the loop stops at end−2, a final base-only step end−1 → end follows, and under
  restore_latent its result is discarded (so the output stays at σ_{end−1}).
`order: "parallel"` is graphrt's batchable variant (not Impact's): in each step the base and
every region sample from the SAME latent, then the results are composited (base, then each
region through its grown mask); there is no ring double stepping, every sampler adds the
start noise, and `sample.regional_fused` computes exactly this in one model call per step.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.op import macro

from ..region import SamplerLinks, region_links, sampler_links
from ..types import Latent, Mask, RegionalPrompts, Sampler
from .params import MAX_STEPS, Seeded
from .separated import Mode, RecoverySampler, advanced_step

Region = tuple[Ref[Mask], SamplerLinks]


class RegionalSteps(Seeded):
    """The step range and mask growth shared by sample.regional and sample.regional_fused."""

    start: int = Field(0, ge=0, le=MAX_STEPS)
    end: int = Field(MAX_STEPS, ge=0, le=MAX_STEPS, description="clamped to steps")
    add_noise: bool = True
    overlap_factor: int = Field(10, ge=0, le=1000, description="mask growth, mask pixels")
    leftover_noise: bool = False
    base_only_steps: int = Field(0, ge=0, le=MAX_STEPS, description="first steps sampled by "
                                 "the base alone over the whole latent (upstream RegionalSampler)")

    @property
    def last(self) -> int:
        return min(self.steps, self.end)


class Regional(RegionalSteps):
    restore_latent: bool = True
    additional_mode: Mode = "ratio between"
    additional_sampler: RecoverySampler = "AUTO"
    additional_sigma_ratio: float = Field(0.3, ge=0.0, le=1.0)
    legacy: bool = Field(False, description="reproduce Impact's missing last steps (§8.3)")
    order: Literal["sequential", "parallel"] = "sequential"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.legacy:
            if self.last < 1:
                raise ValueError("legacy mode needs end ≥ 1")
            if self.base_only_steps or self.order == "parallel":
                raise ValueError("legacy mode has no base_only_steps and no parallel order")
        elif self.start > self.last:
            raise ValueError(f"start ({self.start}) is past the last step "
                             f"min(steps, end) = {self.last}")
        if self.order == "parallel" and not self.restore_latent:
            raise ValueError("order 'parallel' composites every step: restore_latent must be on")
        return self


def grown_masks(g: Builder, p: RegionalSteps, regions: list[Region]
                ) -> tuple[Ref[Mask], list[Ref[Mask]]]:
    """The base's mask (outside every region) and each region's grown mask, as nodes."""
    inv = g.add("region.outside", {}, id="inv", masks=[m for m, _ in regions]).out
    grown = [g.add("mask.grow", {"overlap_factor": p.overlap_factor, "units": "mask",
                                 "mode": "impact"}, id=f"grow{j}", mask=m).out
             for j, (m, _) in enumerate(regions)]
    return inv, grown


def build_regional(g: Builder, p: Regional, latent: Ref[Latent], base: SamplerLinks,
                   regions: list[Region]) -> Ref[Latent]:
    """Add the unrolled regional loop (§8.2, fixed or legacy, or the parallel order)."""
    inv, grown = grown_masks(g, p, regions)

    def step(links: SamplerLinks, x: Ref[Latent], mask: Ref[Mask] | None, id: str, i: int,
             j: int, noise: bool, leftover: bool, mode: str = p.additional_mode
             ) -> Ref[Latent]:
        return advanced_step(g, links, x, mask, id=id, seed=p.seed, steps=p.steps, start=i,
                             end=j, add_noise=noise, leftover=leftover, mode=mode,
                             recovery=p.additional_sampler, ratio=p.additional_sigma_ratio,
                             noise_mode=p.noise_mode)

    def paste(dst: Ref[Latent], src: Ref[Latent], j: int, id: str) -> Ref[Latent]:
        return g.add("latent.composite_masked", {}, id=id, destination=dst, source=src,
                     mask=grown[j]).out

    a, e, x = p.start, p.last, latent
    if p.legacy:
        for i in range(a, e - 1):
            x = step(base, x, inv, f"s{i}.base", i, i + 1, p.add_noise and i == a, True)
            for j, (_, links) in enumerate(regions):
                r = step(links, x, grown[j], f"s{i}.r{j}", i, i + 1, False, True)
                x = paste(x, r, j, f"s{i}.r{j}.paste") if p.restore_latent else r
        if not p.restore_latent:  # under restore_latent Impact discards this step
            x = step(base, x, inv, "final", e - 1, e, False, p.leftover_noise)
        return x
    first = min(a + p.base_only_steps, e)
    if first > a:  # upstream RegionalSampler: one call, recovery off (§9.2)
        x = step(base, x, None, "base_only", a, first, p.add_noise,
                 p.leftover_noise if first == e else True, mode="DISABLE")
    for i in range(first, e):
        noise = p.add_noise and i == a
        leftover = p.leftover_noise if i == e - 1 else True
        if p.order == "parallel":
            y = step(base, x, inv, f"s{i}.base", i, i + 1, noise, leftover)
            for j, (_, links) in enumerate(regions):
                r = step(links, x, grown[j], f"s{i}.r{j}", i, i + 1, noise, leftover)
                y = paste(y, r, j, f"s{i}.r{j}.paste")
            x = y
            continue
        x = step(base, x, inv, f"s{i}.base", i, i + 1, noise, leftover)
        for j, (_, links) in enumerate(regions):
            r = step(links, x, grown[j], f"s{i}.r{j}", i, i + 1, False, leftover)
            x = paste(x, r, j, f"s{i}.r{j}.paste") if p.restore_latent else r
    return x


@macro("sample.regional", version=2)
def regional(p: Regional, g: Builder, latent: Ref[Latent], base_sampler: Ref[Sampler],
             regional_prompts: Ref[RegionalPrompts]) -> Ref[Latent]:
    """RegionalSamplerAdvanced (§8): per step, the base sampler on the inverse mask, then each
    region's sampler on its grown mask; fixed by default, `legacy` reproduces §8.3 1–2."""
    return build_regional(g, p, latent, sampler_links(g, base_sampler),
                          region_links(g, regional_prompts))


class MaskedPair(Seeded):
    denoise: float = Field(1.0, gt=0.0, le=1.0)
    overlap_factor: int = Field(10, ge=0, le=1000, description="mask growth, mask pixels")

    @model_validator(mode="after")
    def _capped(self) -> Self:
        if int(self.steps / self.denoise) > MAX_STEPS:
            raise ValueError(f"steps/denoise = {self.steps}/{self.denoise} exceeds {MAX_STEPS}")
        return self


@macro("sample.masked_pair", version=2)
def masked_pair(p: MaskedPair, g: Builder, latent: Ref[Latent], base_sampler: Ref[Sampler],
                mask_sampler: Ref[Sampler], mask: Ref[Mask]) -> Ref[Latent]:
    """TwoAdvancedSamplersForMask as upstream now runs it (§9.2): the regional loop over
    N′ = int(steps/denoise) steps from N′ − steps, the first step base-only with recovery off,
    restore_latent on, recovery "ratio between" 0.3 with the AUTO sampler in the loop,
    `mask_sampler` the single region, and every call returning its sampler state
    (upstream's return_with_leftover_noise is on for every call; the last still ends at 0)."""
    total = int(p.steps / p.denoise)
    plan = Regional.model_validate({"seed": p.seed, "steps": total, "start": total - p.steps,
                                    "end": total, "overlap_factor": p.overlap_factor,
                                    "base_only_steps": 1, "leftover_noise": True,
                                    "noise_mode": p.noise_mode})
    return build_regional(g, plan, latent, sampler_links(g, base_sampler),
                          [(mask, sampler_links(g, mask_sampler))])
