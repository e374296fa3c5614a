"""impact.* — Impact Pack nodes that are not a native op as they stand.

`impact.regional_sampler` is Impact's RegionalSampler (the non-advanced sibling of
RegionalSamplerAdvanced): the regional loop of `sample.regional` over N′ = int(steps/denoise)
steps from N′ − steps, its first `base_only_steps` sampled by the base alone (recovery off,
leftover noise kept, so the regional steps add no noise), every call returning its sampler
state (the last still ends at σ = 0). `seed_2nd_mode` values other than "ignore" re-noise
between the two stages with a second seed; graphrt has no such stage, so they are refused.

`impact.ksampler` is KSamplerProvider: a KSAMPLER value, Impact's KSamplerWrapper, whose
`sample(latent)` is impact_sample: one `separated_sample` call (Impact 727295b,
impact_sampling.py) over N′ = floor(steps/denoise) steps from N′ − steps, noise added from
the seed, the last step to σ = 0. `impact.two_samplers_for_mask` is TwoSamplersForMask: the
base KSAMPLER on the latent with noise mask [mask ≠ 1], then the mask KSAMPLER on its result
with noise mask `mask`; the result carries no noise mask. Both samplers' settings arrive as
values, so its model calls are unknown when planning.

`impact.preview_bridge` is PreviewBridge: the images are saved like PreviewImage. With an
empty `image` (no edit: what Impact returns on a prompt's first run) they are passed through
with an empty mask (zeros). An `image` naming a file in the input folder is the editor's mask
edit (the clipspace file it wrote, `clipspace/clipspace-mask-….png`): the IMAGE and MASK
outputs are that file read as LoadImage reads it (RGB; 1 − alpha), as the Impact of the
editor's dict widget value did (LoadImage on `subfolder/filename [type]`). Current Impact's
`$<node>-<n>` ids name files of one server session and are refused, as are other folders.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple, Self

from pydantic import Field, model_validator

from graphrt.core.context import OpContext
from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.hints import Cost, FileParam
from graphrt.core.op import Params, macro, op
from graphrt.core.paths import Folders
from graphrt.core.types import Files

from .image import IMAGE_SUFFIXES, SAVED_IMAGE, Save, _save_fingerprint, input_path, save
from .region import region_links, sampler_links
from .sample.params import MAX_STEPS, SEED_MAX, Guidance, NoiseMode, Seeded
from .sample.regional import Regional, build_regional
from .sample.separated import Mode, RecoverySampler
from .types import BasicPipe, Image, KSampler, Latent, Mask, RegionalPrompts, Sampler

Seed2ndMode = Literal["ignore", "fixed", "seed+seed_2nd", "seed-seed_2nd", "increment",
                      "decrement", "randomize"]


class RegionalSampler(Seeded):
    seed_2nd: int = Field(0, ge=0, le=SEED_MAX, description="used only by seed_2nd_mode "
                          "values other than 'ignore', which graphrt refuses")
    seed_2nd_mode: Seed2ndMode = "ignore"
    base_only_steps: int = Field(2, ge=0, le=MAX_STEPS)
    denoise: float = Field(1.0, gt=0.0, le=1.0)
    overlap_factor: int = Field(10, ge=0, le=1000, description="mask growth, mask pixels")
    restore_latent: bool = True
    additional_mode: Mode = "ratio between"
    additional_sampler: RecoverySampler = "AUTO"
    additional_sigma_ratio: float = Field(0.3, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _supported(self) -> Self:
        if self.seed_2nd_mode != "ignore":
            raise ValueError(f"seed_2nd_mode {self.seed_2nd_mode!r} is not supported: graphrt "
                             "has no re-noising stage between the base-only and the regional "
                             "steps; use 'ignore'")
        if int(self.steps / self.denoise) > MAX_STEPS:
            raise ValueError(f"steps/denoise = {self.steps}/{self.denoise} exceeds {MAX_STEPS}")
        return self

    def plan(self) -> Regional:
        """The `sample.regional` params this node runs as."""
        total = int(self.steps / self.denoise)
        return Regional.model_validate({
            "seed": self.seed, "steps": total, "start": total - self.steps, "end": total,
            "overlap_factor": self.overlap_factor, "base_only_steps": self.base_only_steps,
            "leftover_noise": True, "restore_latent": self.restore_latent,
            "additional_mode": self.additional_mode,
            "additional_sampler": self.additional_sampler,
            "additional_sigma_ratio": self.additional_sigma_ratio,
            "noise_mode": self.noise_mode})


@macro("impact.regional_sampler", version=1)
def regional_sampler(p: RegionalSampler, g: Builder, latent: Ref[Latent],
                     base_sampler: Ref[Sampler],
                     regional_prompts: Ref[RegionalPrompts]) -> Ref[Latent]:
    """Impact's RegionalSampler: `sample.regional` over int(steps/denoise) steps with
    `base_only_steps` base-only steps first."""
    return build_regional(g, p.plan(), latent, sampler_links(g, base_sampler),
                          region_links(g, regional_prompts))


class KSamplerProvider(Guidance):
    seed: int = Field(0, ge=0, le=SEED_MAX)
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    denoise: float = Field(1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _total(self) -> Self:
        if self.denoise == 0.0:
            raise ValueError("denoise must be > 0 (Impact divides steps by it)")
        if math.floor(self.steps / self.denoise) > MAX_STEPS:
            raise ValueError(f"steps/denoise = {self.steps}/{self.denoise} exceeds {MAX_STEPS}")
        return self


def _steps(p: KSamplerProvider) -> Cost:
    return Cost(steps=p.steps)


@op("impact.ksampler", version=1, cost=_steps)
def ksampler(p: KSamplerProvider, basic_pipe: BasicPipe) -> KSampler:
    """The pipe's model and conditioning with a whole sampling run's settings
    (KSamplerProvider)."""
    model, _clip, _vae, positive, negative = basic_pipe
    return {"model": model, "positive": positive, "negative": negative, **p.model_dump()}


def _ksample(bundle: dict[str, Any], latent: Latent, mask: Any, noise_mode: str,
             report: Any) -> Latent:
    """KSamplerWrapper.sample through `mask` (impact_sample, Impact's separated_sample)."""
    from .kernels.separated import run_separated

    total = math.floor(bundle["steps"] / bundle["denoise"])
    return run_separated(bundle["model"], latent, bundle["positive"], bundle["negative"],
                         seed=bundle["seed"], steps=total, cfg=bundle["cfg"],
                         sampler=bundle["sampler"], scheduler=bundle["scheduler"],
                         start=total - bundle["steps"], end=total, add_noise=True,
                         leftover=False, mask=mask, noise_mode=noise_mode, callback=report)


class TwoSamplers(Params):
    noise_mode: NoiseMode = Field("graphrt", description=Seeded.model_fields[
        "noise_mode"].description)


def _unknown(p: TwoSamplers) -> int | None:
    return None


@op("impact.two_samplers_for_mask", version=1, model_calls=_unknown, device=True)
def two_samplers_for_mask(p: TwoSamplers, latent: Latent, base_sampler: KSampler,
                          mask_sampler: KSampler, mask: Mask, *, ctx: OpContext) -> Latent:
    """The base sampler outside the mask, then the mask sampler inside it
    (TwoSamplersForMask)."""
    import torch

    from .sample.basic import progress

    report = progress(ctx)
    inv = torch.where(mask != 1.0, 1.0, 0.0).to(torch.float32)
    out = _ksample(base_sampler, latent, inv, p.noise_mode, report)
    return _ksample(mask_sampler, out, mask, p.noise_mode, report)


EDITED_IMAGE = FileParam("image", "input", builtin=("",), suffixes=IMAGE_SUFFIXES)


class PreviewBridge(Save):
    prefix: str = Field("previews/preview", min_length=1, max_length=128,
                        pattern=r"^[\w\-. /]+$")
    image: str = Field("", max_length=1024, description="the editor's mask edit: empty, or "
                       "the clipspace file it wrote in <input>")

    @model_validator(mode="after")
    def _readable_edit(self) -> Self:
        if self.image.startswith("$"):
            raise ValueError(f"PreviewBridge's edit {self.image!r} names an image of another "
                             "server session; name the edited file in the input folder")
        if self.image.endswith("]"):
            raise ValueError(f"PreviewBridge's edit {self.image!r} is not in the input "
                             "folder; only input files can be read")
        return self


def _bridge_fingerprint(p: PreviewBridge, folders: Folders) -> Any:
    """The output folder, and the edited file's content (a new edit is new work)."""
    from .model import file_identity

    edit = file_identity(input_path(folders, p.image), True) if p.image else None
    return [_save_fingerprint(p, folders), edit]


class Bridged(NamedTuple):
    images: Files
    image: Image
    mask: Mask


@op("impact.preview_bridge", version=1, fingerprint=_bridge_fingerprint,
    files=(SAVED_IMAGE, EDITED_IMAGE), output=True)
def preview_bridge(p: PreviewBridge, images: Image, *, ctx: OpContext) -> Bridged:
    """Save the images as a preview; pass them on with an empty mask, or give the edited
    file's image and mask (1 − alpha) when `image` names one (PreviewBridge)."""
    import torch

    saved = save(Save(prefix=p.prefix), images, ctx=ctx)
    if not p.image:
        return Bridged(saved.images, images,
                       torch.zeros(tuple(images.shape[:3]), dtype=torch.float32))
    from .kernels.imaging import read_png

    edited, mask, _ = read_png(input_path(ctx.folders, p.image))
    return Bridged(saved.images, edited, mask)
