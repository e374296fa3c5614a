"""Reference loops of the five seed nodes, written straight from docs/semantics.md on the kernel
functions (ksampler, schedules, imaging), never through the engine or the macros.

They keep the originals' shape on purpose — LATENT dicts whose "noise_mask" is set, copied
and deleted as the seed code does, Impact's σ list sliced as a torch view — so that the
macros' unrolled graphs are checked against an independent reading of the same behaviour.
"""

from __future__ import annotations

from typing import Any

import torch

from graphrt.ops.kernels.imaging import (
    blend_images,
    composite_masked,
    grow_mask_impact,
    scale_image,
)
from graphrt.ops.kernels.ksampler import run_sigmas, sample_range
from graphrt.ops.kernels.schedules import sampler_sigmas

Latent = dict[str, Any]
SP = {"dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde",
      "dpmpp_3m_sde_gpu"}


# --- Searge (§11) ---------------------------------------------------------------------------

def common_ksampler(stage: tuple[Any, Any, Any], seed: int, steps: int, cfg: float, sampler: str,
                    scheduler: str, latent: Latent, *, denoise: float, start: int, last: int,
                    force_full_denoise: bool) -> Latent:
    model, pos, neg = stage
    return sample_range(model, latent, pos, neg, seed=seed % 2**64, steps=steps, cfg=cfg,
                        sampler=sampler, scheduler=scheduler, start=start, end=last,
                        add_noise=True, leftover_noise=not force_full_denoise, denoise=denoise)


def searge_sampler2(base: tuple, refiner: tuple, latent: Latent, *, seed: int, steps: int,
                    cfg: float, sampler: str, scheduler: str, base_ratio: float, denoise: float,
                    prep: int = 0, noise_offset: int = 1, strength: float = 1.0,
                    refiner_cfg: float | None = None) -> Latent:
    """SeargeSDXLSampler2 (§11.1)."""
    rcfg = cfg if refiner_cfg is None else refiner_cfg
    base_steps = int(steps * (base_ratio + 0.0001))
    strength = max(strength, 0.01)
    if denoise < 0.01:
        return latent
    start = 0
    if prep >= base_steps:
        prep = base_steps - 1
    if prep > 0:
        start = prep
        latent = common_ksampler(refiner, seed + 2, steps, rcfg, sampler, scheduler, latent,
                                 denoise=denoise, start=steps - prep, last=steps,
                                 force_full_denoise=False)
    if base_steps >= steps:
        return common_ksampler(base, seed, steps, cfg, sampler, scheduler, latent,
                               denoise=denoise, start=start, last=steps, force_full_denoise=True)
    out = common_ksampler(base, seed, steps, cfg, sampler, scheduler, latent, denoise=denoise,
                          start=start, last=base_steps, force_full_denoise=True)
    return common_ksampler(refiner, seed + noise_offset, steps, rcfg, sampler, scheduler, out,
                           denoise=denoise * strength, start=base_steps, last=steps,
                           force_full_denoise=True)


def searge_img2img(base: tuple, refiner: tuple, image: torch.Tensor, vae: Any, *, seed: int,
                   steps: int, cfg: float, sampler: str, scheduler: str, base_ratio: float,
                   denoise: float, softness: float = 0.0, upscaler: Any = None,
                   width: int | None = None, height: int | None = None, noise_offset: int = 1,
                   strength: float = 1.0) -> torch.Tensor:
    """SeargeSDXLImage2ImageSampler (§11.2), the no-size crash fixed by blending at the
    upscaled size."""
    if steps < 1:
        return image
    use_model = upscaler is not None and softness < 0.9999
    scaled = image
    if use_model:
        scaled = upscaler(image)  # IMAGE → IMAGE (the tiled model pass, clamped)
    sized = width is not None and height is not None
    if sized and (width or height):
        scaled = scale_image(scaled, width, height, "bicubic", "center")
    if use_model and softness > 0.0001:
        original = scale_image(image, width, height, "bicubic", "center") \
            if sized and (width or height) else image
        scaled = blend_images(scaled, original, softness, "normal")
    if denoise < 0.01:
        return scaled
    latent = {"samples": vae.encode(scaled)}
    out = searge_sampler2(base, refiner, latent, seed=seed, steps=steps, cfg=cfg,
                          sampler=sampler, scheduler=scheduler, base_ratio=base_ratio,
                          denoise=denoise, noise_offset=noise_offset, strength=strength)
    return vae.decode(out["samples"])


# --- Impact (§7) ----------------------------------------------------------------------------

def separated_sample(bundle: dict, add_noise: bool, seed: int, steps: int, latent: Latent,
                     a: int, b: int, leftover: bool, sampler: str, ratio: float) -> Latent:
    """Impact's separated_sample (§7.1): T is a tensor and S a view of it."""
    total = torch.tensor(sampler_sigmas(sampler, bundle["scheduler"], steps), dtype=torch.float64)
    sigmas = total
    if b < len(total) - 1:
        sigmas = total[: b + 1]
        if not leftover:
            sigmas[b] = 0  # writes into `total` as well
    if a < len(sigmas) - 1:
        sigmas = sigmas[a:] * ratio
    else:
        return latent
    if len(sigmas) == 0 or (len(sigmas) == 1 and sigmas[0] == 0):
        return latent
    x0s: list[torch.Tensor] = []
    out = run_sigmas(bundle["model"], latent, bundle["positive"], bundle["negative"],
                     sigmas.tolist(), seed=seed, cfg=bundle["cfg"], sampler=sampler,
                     add_noise=add_noise, offset=0, full_sigmas=total.tolist(),
                     callback=lambda i, n, x0: x0s.append(x0))
    if leftover:
        return out
    return {**out, "samples": x0s[-1]}


def sample_advanced(bundle: dict, add_noise: bool, seed: int, steps: int, latent: Latent,
                    a: int, b: int, leftover: bool, mode: str = "DISABLE",
                    recovery: str = "AUTO", r: float = 0.0) -> Latent:
    """KSamplerAdvancedWrapper.sample_advanced (§7.2), errors raised."""
    sampler, phi = bundle["sampler"], bundle["sigma_factor"]
    special = mode != "DISABLE" and sampler in SP
    rho1 = 1.0
    before = None
    if special:
        before = latent.copy()
        rho1 = 1 - r if mode == "ratio between" else 1.0
    if rho1 > 0:
        latent = separated_sample(bundle, add_noise, seed, steps, latent, a, b, leftover,
                                  sampler, rho1 * phi)
    if r > 0 and special:
        if recovery == "AUTO":
            recovery = "dpm_fast" if sampler in ("dpmpp_sde", "dpmpp_sde_gpu") else "dpmpp_2m"
        mask = latent.get("noise_mask")  # graphrt: no mask = the whole latent (Impact: KeyError)
        samples = composite_masked(before["samples"], latent["samples"], 0, 0, mask)
        latent = {**before, "samples": samples}
        latent = separated_sample(bundle, add_noise, seed, steps, latent, a, b, leftover,
                                  recovery, r * phi)
    return latent


def impact_masks(masks: list[torch.Tensor], k: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """inv_mask (§6.3: 1 outside ⋃ ceil(mask) ≠ 0) and each region's get_mask_erosion(k)."""
    combined = torch.zeros(masks[0].shape, dtype=torch.int32)
    for m in masks:
        combined |= torch.ceil(m).to(torch.int32)
    inv = torch.where(combined == 0, 1.0, 0.0)
    grown = [grow_mask_impact(m, k, m.shape[-1], m.shape[-2]) for m in masks]
    return inv, grown


def regional_sampler(latent: Latent, base: dict, regions: list[tuple[torch.Tensor, dict]], *,
                     seed: int, steps: int, start: int = 0, end: int = 10000,
                     add_noise: bool = True, overlap: int = 10, restore: bool = True,
                     leftover: bool = False, mode: str = "ratio between",
                     recovery: str = "AUTO", r: float = 0.3, legacy: bool = False,
                     base_only_steps: int = 0) -> Latent:
    """RegionalSamplerAdvanced (§8.2) as the seed code runs it (legacy), or with the last
    step taken by every sampler and kept (fixed, §15 #7)."""
    inv, grown = impact_masks([m for m, _ in regions], overlap)
    end = min(steps, end)
    last = end - 1 if legacy else end
    adv = {"mode": mode, "recovery": recovery, "r": r}
    new = latent.copy()
    based = None
    first = start
    if base_only_steps:
        first = min(start + base_only_steps, end)
        new = sample_advanced(base, add_noise, seed, steps, new, start, first,
                              leftover if first == end else True, mode="DISABLE")
    for i in range(first, last):
        lo = leftover if (not legacy and i == end - 1) else True
        new["noise_mask"] = inv
        new = sample_advanced(base, add_noise and i == start, seed, steps, new, i, i + 1, lo,
                              **adv)
        if restore:
            del new["noise_mask"]
            based = new.copy()
        for (_, bundle), m in zip(regions, grown, strict=True):
            if restore:
                new = based.copy()
            new["noise_mask"] = m
            new = sample_advanced(bundle, False, seed, steps, new, i, i + 1, lo, **adv)
            if restore:
                del new["noise_mask"]
                based = {**based, "samples": composite_masked(based["samples"], new["samples"],
                                                              0, 0, m)}
                new = based
    if legacy:
        if based is not None:
            new = based
        else:
            based = new
        new = dict(new)
        new["noise_mask"] = inv
        new = sample_advanced(base, False, seed, steps, new, end - 1, end, leftover, **adv)
        if restore:
            new = based
    new = dict(new)
    new.pop("noise_mask", None)
    return new


def regional_parallel(latent: Latent, base: dict, regions: list[tuple[torch.Tensor, dict]], *,
                      seed: int, steps: int, start: int = 0, end: int = 10000,
                      add_noise: bool = True, overlap: int = 10, leftover: bool = False
                      ) -> Latent:
    """graphrt's parallel order: every sampler steps from the same latent, then composite."""
    inv, grown = impact_masks([m for m, _ in regions], overlap)
    end = min(steps, end)
    x = {k: v for k, v in latent.items() if k != "noise_mask"}
    for i in range(start, end):
        lo = leftover if i == end - 1 else True
        noise = add_noise and i == start
        outs = [separated_sample(base, noise, seed, steps, {**x, "noise_mask": inv}, i, i + 1,
                                 lo, base["sampler"], base["sigma_factor"])]
        for (_, bundle), m in zip(regions, grown, strict=True):
            outs.append(separated_sample(bundle, noise, seed, steps, {**x, "noise_mask": m}, i,
                                         i + 1, lo, bundle["sampler"], bundle["sigma_factor"]))
        y = outs[0]["samples"]
        for out, m in zip(outs[1:], grown, strict=True):
            y = composite_masked(y, out["samples"], 0, 0, m)
        x = {**x, "samples": y}
    return x


def two_samplers_upstream(latent: Latent, base: dict, mask_sampler: dict, mask: torch.Tensor,
                          *, seed: int, steps: int, denoise: float, overlap: int) -> Latent:
    """TwoAdvancedSamplersForMask as upstream delegates it now (§9.2): every call keeps its
    leftover noise (the last one still ends at σ = 0)."""
    total = int(steps / denoise)
    return regional_sampler(latent, base, [(mask, mask_sampler)], seed=seed, steps=total,
                            start=total - steps, end=total, overlap=overlap, restore=True,
                            leftover=True, mode="ratio between", recovery="AUTO", r=0.3,
                            base_only_steps=1)
