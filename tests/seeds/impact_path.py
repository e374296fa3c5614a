"""Impact Pack's current TwoAdvancedSamplersForMask, followed call by call (docs/semantics.md
§9.2; ComfyUI-Impact-Pack 727295b: special_samplers.py last changed in a500aff,
impact_sampling.py in 44c48f1), independent of graphrt's macros.

TwoAdvancedSamplersForMask.doit → RegionalSampler.doit(seed_2nd_mode "ignore",
base_only_steps 1, restore_latent, "ratio between" 0.3, AUTO), whose calls are
KSamplerAdvancedWrapper.sample_advanced → separated_sample. `separated` is the
separated_sample in use: graphrt's noise (`separated_graphrt`, through the kernels' sampler
call as reference.py does) or ComfyUI's (`separated_comfy`, plain loops of
comfy_reference.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import comfy_reference as cr
import reference as ref
import torch

from graphrt.ops.kernels.imaging import composite_masked
from graphrt.ops.kernels.schedules import sampler_sigmas

Latent = dict[str, Any]
Separated = Callable[..., Latent]
SP = {"uni_pc", "uni_pc_bh2", *ref.SP}


def separated_graphrt(bundle: dict, add_noise: bool, seed: int, steps: int, latent: Latent,
                      a: int, b: int, leftover: bool, sampler: str, ratio: float) -> Latent:
    return ref.separated_sample(bundle, add_noise, seed, steps, latent, a, b, leftover,
                                sampler, ratio)


def separated_comfy(bundle: dict, add_noise: bool, seed: int, steps: int, latent: Latent,
                    a: int, b: int, leftover: bool, sampler: str, ratio: float) -> Latent:
    """separated_sample with ComfyUI's noise: a fresh generator per call, SDE trees over T."""
    total = torch.tensor(sampler_sigmas(sampler, bundle["scheduler"], steps), dtype=torch.float32)
    sigmas = total
    if b < len(total) - 1:
        sigmas = total[: b + 1]
        if not leftover:
            sigmas[-1] = 0  # a view: T changes too
    if a >= len(sigmas) - 1:
        return latent
    sigmas = sigmas[a:] * ratio
    samples = latent["samples"]
    noise = cr.initial_noise(samples.shape, seed) if add_noise else torch.zeros_like(samples)
    stage = (bundle["model"], bundle["positive"], bundle["negative"])
    out, x0 = cr.call(stage, samples, sigmas, seed=seed, cfg=bundle["cfg"], sampler=sampler,
                      noise=noise, mask=latent.get("noise_mask"), span=total)
    return {**latent, "samples": out if leftover else x0}


def sample_advanced(separated: Separated, bundle: dict, add_noise: bool, seed: int, steps: int,
                    latent: Latent, a: int, b: int, leftover: bool, mode: str,
                    r: float = 0.3) -> Latent:
    """KSamplerAdvancedWrapper.sample_advanced (recovery sampler AUTO)."""
    sampler = bundle["sampler"]
    special = mode != "DISABLE" and sampler in SP
    before, rho = (latent.copy(), 1.0 - r if mode == "ratio between" else 1.0) if special \
        else (None, 1.0)
    if rho > 0:
        latent = separated(bundle, add_noise, seed, steps, latent, a, b, leftover, sampler,
                           rho * bundle["sigma_factor"])
    if r > 0 and special:
        assert before is not None
        recovery = "dpm_fast" if sampler in ("uni_pc", "uni_pc_bh2", "dpmpp_sde",
                                             "dpmpp_sde_gpu") else "dpmpp_2m"
        mixed = composite_masked(before["samples"], latent["samples"], 0, 0,
                                 latent["noise_mask"])
        latent = separated(bundle, add_noise, seed, steps, {**before, "samples": mixed}, a, b,
                           leftover, recovery, r * bundle["sigma_factor"])
    return latent


def two_samplers_for_mask(separated: Separated, samples: Latent, base: dict,
                          mask_sampler: dict, mask: torch.Tensor, *, seed: int, steps: int,
                          denoise: float, overlap: int) -> Latent:
    """TwoAdvancedSamplersForMask.doit → RegionalSampler.doit, line by line."""
    inv, (grown,) = ref.impact_masks([mask], overlap)
    adv_steps = int(steps / denoise)
    start = adv_steps - steps
    # base_only_steps = 1, seed_2nd_mode "ignore": leftover noise kept, recovery off, and the
    # noise passed in is prepare_noise(seed) — what add_noise draws anyway
    samples = sample_advanced(separated, base, True, seed, adv_steps, dict(samples), start,
                              start + 1, True, "DISABLE")
    new = samples.copy()
    based: Latent | None = None
    add_noise = False
    for i in range(start + 1, adv_steps):
        new["noise_mask"] = inv
        new = sample_advanced(separated, base, add_noise, seed, adv_steps, new, i, i + 1, True,
                              "ratio between")
        new.pop("noise_mask", None)
        based = new.copy()
        new = based.copy()
        new["noise_mask"] = grown
        new = sample_advanced(separated, mask_sampler, False, seed, adv_steps, new, i, i + 1,
                              True, "ratio between")
        del new["noise_mask"]
        based = {**based, "samples": composite_masked(based["samples"], new["samples"], 0, 0,
                                                      grown)}
        new = based
    # finalize: sample_advanced(..., adv_steps, adv_steps + 1, False) starts past the last
    # step and returns its input; restore_latent then returns the composited latent
    out = dict(based if based is not None else new)
    out.pop("noise_mask", None)
    return out
