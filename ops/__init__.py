"""graphrt's op library: diffusion primitives over k-diffusion and the built-in toy models.

Layout, by family: one module per op family (`model`, `text`, `cond`, `latent`, `mask`,
`image`, `region`), every `sample.*` op and macro in `sample/`, the numeric kernels in
`kernels/` (plain functions, no graph knowledge), the models (`models/toy`, `models/real`,
`models/upscale`) apart from both, and the port types in `types`.

This module only lists the ops; importing it registers nothing and never imports torch
(the numeric kernels are imported inside the ops). It is published as the `graphrt.ops`
entry point, so `Registry.from_entry_points()` finds it beside any plug-in pack.
"""

from __future__ import annotations

from typing import Any

from . import cond, image, latent, mask, model, region, text
from .sample import basic, fused, regional, separated, split

OPS: list[Any] = [
    model.load_checkpoint, model.load_upscaler,
    text.encode, text.encode_sdxl, text.encode_sdxl_refiner,
    cond.combine, cond.set_mask,
    latent.empty, latent.encode, latent.decode, latent.set_noise_mask, latent.composite_masked,
    mask.grow, mask.invert, mask.threshold, mask.rect, mask.load,
    image.load, image.save, image.scale, image.blend, image.upscale_with_model,
    basic.steps, basic.unsample, basic.sampler,
    separated.separated, region.prompt, region.combine, region.outside,
    split.split, split.img2img_refine, regional.regional, regional.masked_pair,
    fused.regional_batched, fused.regional_fused,
]
