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

from . import (
    clip,
    cond,
    image,
    impact,
    latent,
    latent_edit,
    latent_noise,
    lora,
    mask,
    merge,
    model,
    model_sampling,
    pipe,
    region,
    schedule,
    text,
    vae,
)
from .sample import basic, custom, fused, regional, separated, split, split_v1

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
    lora.lora, lora.lora_model_only, lora.lora_clip,
    merge.merge_simple, merge.merge_add, merge.merge_subtract, merge.merge_clip_simple,
    latent_edit.upscale, latent_edit.upscale_by, latent_edit.composite, latent_edit.blend,
    latent_edit.from_batch, latent_edit.repeat_batch, latent_edit.encode_for_inpaint,
    image.scale_by, image.invert, image.crop, image.empty, image.pad_for_outpaint,
    mask.solid, mask.feather, mask.grow_comfy, mask.composite, mask.from_image, mask.to_image,
    cond.zero_out, cond.average, cond.concat,
    vae.load_vae, clip.clip_skip, model_sampling.sampling_discrete,
    schedule.basic, schedule.karras, schedule.exponential, schedule.polyexponential,
    schedule.sd_turbo, schedule.split, schedule.split_denoise, schedule.flip,
    custom.select, custom.random, custom.disable, custom.cfg, custom.basic, custom.custom,
    custom.custom_advanced,
    pipe.make, pipe.split, pipe.edit, pipe.sampler,
    impact.regional_sampler, impact.preview_bridge,
    cond.set_area, cond.set_area_percentage, cond.set_area_strength, cond.set_timestep_range,
    custom.dual_cfg, schedule.get_sigma, impact.ksampler, impact.two_samplers_for_mask,
    latent_noise.noisy, latent_noise.duplicate_index, latent_noise.slerp,
    latent_noise.inject_noise, split_v1.split_v1,
]
