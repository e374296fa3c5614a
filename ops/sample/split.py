"""sample.split (SeargeSDXLSampler2, docs/semantics.md §11.1) and sample.img2img_refine
(SeargeSDXLImage2ImageSampler, §11.2): macros over `sample.steps` and the image ops.

Reproduced exactly: B = int(steps·(base_ratio + 0.0001)); refiner_strength clamped to ≥ 0.01;
the early returns (denoise < 0.01 returns the input; img2img steps < 1 returns the input
image, denoise < 0.01 the scaled one); prep steps clamped to B − 1; B ≥ steps is one base
run; the base denoises fully (jumping σ_{B−1} → 0) and the refiner re-noises at its own σ_B
from the tail of sched(int(steps/(denoise·strength))). Fixed (§15 #4–5): seeds wrap modulo
2⁶⁴; N′ is capped (validation error past 10,000, from `sample.steps`); with an upscale model
and softness but no sizes, the original is blended at the upscaled size (the original crashed).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.op import macro

from ..image import MAX_SIDE
from ..types import Conditioning, Image, Latent, Model, UpscaleModel, Vae
from .params import SEED_MOD, SamplerName, Sampling, SchedulerName

Links = dict[str, Ref[Any]]


class SeargeSampling(Sampling):
    """What both Searge samplers share: their defaults, the base/refiner split and offsets."""

    steps: int = Field(20, ge=1, le=200)
    cfg: float = Field(7.0, ge=0.0, le=100.0)
    sampler: SamplerName = "ddim"
    scheduler: SchedulerName = "ddim_uniform"
    base_ratio: float = Field(0.8, ge=0.0, le=1.0)
    noise_offset: int = Field(1, ge=0, le=1)
    refiner_strength: float = Field(1.0, ge=0.0, le=1.0, description="clamped to ≥ 0.01")
    refiner_cfg: float | None = Field(None, ge=0.0, le=100.0, description="the refiner's "
                                      "cfg (graphrt extension; None: cfg, as Searge)")


class Split(SeargeSampling):
    denoise: float = Field(1.0, ge=0.0, le=1.0)
    refiner_prep_steps: int = Field(0, ge=0, le=10)

    @property
    def base_steps(self) -> int:
        return int(self.steps * (self.base_ratio + 0.0001))


def split_stages(g: Builder, p: Split, base: Links, refiner: Links, latent: Ref[Latent],
                 *, prep: int) -> Ref[Latent]:
    """Add the Sampler2 stages (§11.1 steps 4–6) after the early return."""
    n, b = p.steps, p.base_steps
    common = {"steps": n, "cfg": p.cfg, "sampler": p.sampler, "scheduler": p.scheduler,
              "noise_mode": p.noise_mode}
    start = 0
    if prep >= b:
        prep = b - 1
    refiner_common = {**common, "cfg": p.cfg if p.refiner_cfg is None else p.refiner_cfg}
    if prep > 0:
        latent = g.add("sample.steps", {**refiner_common, "seed": (p.seed + 2) % SEED_MOD,
                                        "denoise": p.denoise, "start": n - prep, "end": n,
                                        "leftover_noise": True},
                       id="prep", latent=latent, **refiner).out
        start = prep
    stage = {**common, "seed": p.seed, "denoise": p.denoise, "start": start}
    if b >= n:
        return g.add("sample.steps", {**stage, "end": n}, id="base", latent=latent,
                     **base).out
    latent = g.add("sample.steps", {**stage, "end": b}, id="base", latent=latent, **base).out
    return g.add("sample.steps", {**refiner_common, "seed": (p.seed + p.noise_offset) % SEED_MOD,
                                  "denoise": p.denoise * max(p.refiner_strength, 0.01),
                                  "start": b, "end": n},
                 id="refiner", latent=latent, **refiner).out


def _links(model: Ref[Model], positive: Ref[Conditioning], negative: Ref[Conditioning]
           ) -> Links:
    return {"model": model, "positive": positive, "negative": negative}


@macro("sample.split", version=1)
def split(p: Split, g: Builder, base_model: Ref[Model], base_positive: Ref[Conditioning],
          base_negative: Ref[Conditioning], refiner_model: Ref[Model],
          refiner_positive: Ref[Conditioning], refiner_negative: Ref[Conditioning],
          latent: Ref[Latent]) -> Ref[Latent]:
    """SeargeSDXLSampler2: the base samples steps [prep, B) (denoising fully), the refiner
    re-noises and samples [B, steps) at denoise × refiner_strength (§11.1)."""
    if p.denoise < 0.01:
        return latent
    return split_stages(g, p, _links(base_model, base_positive, base_negative),
                        _links(refiner_model, refiner_positive, refiner_negative), latent,
                        prep=p.refiner_prep_steps)


class Img2Img(SeargeSampling):
    steps: int = Field(20, ge=0, le=200)
    denoise: float = Field(0.25, ge=0.0, le=1.0)
    softness: float = Field(0.0, ge=0.0, le=1.0, description="blend of the bicubic original "
                            "into the model-upscaled image")
    scaled_width: int | None = Field(1536, ge=0, le=MAX_SIDE, description="None: no resize; "
                                     "0 keeps the aspect ratio")
    scaled_height: int | None = Field(1536, ge=0, le=MAX_SIDE)


@macro("sample.img2img_refine", version=1)
def img2img_refine(p: Img2Img, g: Builder, base_model: Ref[Model],
                   base_positive: Ref[Conditioning], base_negative: Ref[Conditioning],
                   refiner_model: Ref[Model], refiner_positive: Ref[Conditioning],
                   refiner_negative: Ref[Conditioning], image: Ref[Image], vae: Ref[Vae],
                   upscale_model: Ref[UpscaleModel] | None = None) -> Ref[Image]:
    """SeargeSDXLImage2ImageSampler (§11.2): optional model upscale, bicubic resize with
    centre crop, softness blend, VAE encode, the Sampler2 stages from step 0, decode."""
    if p.steps < 1:
        return image
    use_model = upscale_model is not None and p.softness < 0.9999
    scaled = image
    if use_model:
        scaled = g.add("image.upscale_with_model", {}, id="upscale",
                       upscale_model=upscale_model, image=image).out
    sized = p.scaled_width is not None and p.scaled_height is not None
    size = {"method": "bicubic", "width": p.scaled_width, "height": p.scaled_height,
            "crop": "center"}
    if sized:
        scaled = g.add("image.scale", size, id="scale", image=scaled).out
    if use_model and p.softness > 0.0001:
        # image.blend resizes the original to the upscaled size when no size was given
        original = g.add("image.scale", size, id="scale_original", image=image).out \
            if sized else image
        scaled = g.add("image.blend", {"factor": p.softness, "mode": "normal"}, id="soften",
                       image1=scaled, image2=original).out
    if p.denoise < 0.01:
        return scaled
    latent = g.add("latent.encode", {}, id="encode", vae=vae, image=scaled).out
    stages = Split(**{k: getattr(p, k) for k in Split.model_fields if k != "refiner_prep_steps"})
    out = split_stages(g, stages, _links(base_model, base_positive, base_negative),
                       _links(refiner_model, refiner_positive, refiner_negative), latent, prep=0)
    return g.add("latent.decode", {}, id="decode", vae=vae, latent=out).out

