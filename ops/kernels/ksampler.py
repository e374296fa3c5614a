"""KSampler / KSamplerAdvanced over a step range (docs/semantics.md §3, §1.6, §5).

`sample_range` returns a NEW latent dict (a shallow copy with "samples" replaced); the input
dict and its tensors are never mutated, since cached values are shared. Internal space is
z = model.latent_scale·samples. Randomness is private: in noise mode "graphrt" it comes from
CPU generators keyed by step (noise.py), so results are device-independent; in mode "comfy" from
ComfyUI's per-call generator and Brownian tree (comfy_noise.py, docs/reproducibility.md). See
samplers.py for which samplers are split-invariant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from .guidance import CFGDenoiser, Cond, MaskedDenoiser, from_guider
from .model import DiffusionModel
from .names import CFG_PP, DRAWS_PER_STEP
from .noise import prepare_noise, wrap_seed
from .samplers import NoiseKit, run_sampler
from .steps import base_sigmas, scale_sigmas, step_range

Latent = dict[str, Any]
StepCallback = Callable[[int, int, torch.Tensor], None]


def max_denoise(model: DiffusionModel, first_sigma: float) -> bool:
    """§1.6: the first σ is ≥ σ_max (relative tolerance 1e-5)."""
    smax = model.sigma_max
    return math.isclose(smax, first_sigma, rel_tol=1e-5) or first_sigma > smax


def run_sigmas(
    model: DiffusionModel,
    latent: Latent,
    positive: Cond,
    negative: Cond,
    sigmas: Sequence[float],
    *,
    seed: int,
    cfg: float,
    sampler: str,
    add_noise: bool,
    offset: int = 0,
    full_sigmas: Sequence[float] = (),
    noise_mode: str = "graphrt",
    skip: int = 0,
    callback: StepCallback | None = None,
    guider: Mapping[str, Any] | None = None,
    guided: Any = None,
    probe: bool = False,
) -> Latent:
    """Run `sampler` over an explicit sigma list (§3.2 steps 4–6); [] returns `latent` as is.

    graphrt mode: `offset` is the absolute index of sigmas[0] in `full_sigmas` (the range's
    full schedule), which keys the per-step noise and spans the Brownian tree. comfy mode:
    `full_sigmas` (if given) spans ComfyUI's tree, else this list does; ancestral draws skip
    `skip` samples of the call's generator (see NoiseKit). `guider` (a GUIDER value,
    guidance.from_guider) replaces CFG over positive/negative with cfg; `guided`, a guided
    denoiser built by the caller (`guided_denoiser`, reused across calls), replaces both.
    `probe`: only make the first evaluation of a one-evaluation-per-step sampler, the denoiser
    at (x, σ₀) (for a model that records its requests, fused.py), and return `latent`.
    """
    if not sigmas:
        return dict(latent)
    samples: torch.Tensor = latent["samples"]
    k = model.latent_scale
    z = samples.to(torch.float32)  # samples itself when float32 already
    if k != 1.0:  # z·1 and Δz/1 are exact: skipped
        z = z * k
    if add_noise:
        noise = prepare_noise(samples, seed, latent.get("batch_index")).to(torch.float32)
    else:
        noise = torch.zeros_like(z)
    s = torch.tensor(list(sigmas), dtype=torch.float32, device=z.device)
    first = float(s[0])
    c: Any = math.sqrt(1.0 + first * first) if max_denoise(model, first) else first
    if noise_mode == "comfy":  # ComfyUI scales in float32: √(1 + σ₀²) or σ₀ as a tensor
        c = torch.sqrt(1.0 + s[0] ** 2.0) if max_denoise(model, first) else s[0]
    x = z + noise * c

    fn: Any = guided if guided is not None else guided_denoiser(
        model, positive, negative, cfg, sampler, guider)
    if latent.get("noise_mask") is not None:
        # ddim re-noises the masked-out area with one full-shape draw of seed+1 (§4.2)
        inpaint = noise
        if sampler == "ddim":
            inpaint = prepare_noise(samples, wrap_seed(seed + 1)).to(torch.float32)
        fn = MaskedDenoiser(fn, latent["noise_mask"], z, inpaint)

    if probe:
        with torch.no_grad():
            fn(x, s[0] * x.new_ones([x.shape[0]]))
        return dict(latent)
    kit = NoiseKit(seed, noise_mode, offset, tuple(float(v) for v in full_sigmas), skip)
    cb = _report(callback, len(sigmas) - 1, k)
    out = run_sampler(sampler, fn, x, s, noise=kit, callback=cb)
    # samples + Δz/k (= out/k up to rounding): exact wherever the solver left z unchanged;
    # at k = 1, z is samples in float32
    new = z + (out - z) if k == 1.0 else samples.to(torch.float32) + (out - z) / k
    return {**latent, "samples": new.to(samples.dtype)}


def _report(callback: StepCallback | None, n: int, k: float) -> Any:
    """The k-diffusion callback passing (step, n, x0 in raw VAE units) to `callback`."""
    if callback is None:
        return None
    if k == 1.0:
        return lambda d: callback(int(d["i"]), n, d["denoised"])
    return lambda d: callback(int(d["i"]), n, d["denoised"] / k)


def guided_denoiser(model: DiffusionModel, positive: Cond, negative: Cond, cfg: float,
                    sampler: str, guider: Mapping[str, Any] | None = None) -> Any:
    """The guided model function `run_sigmas` samples with: CFG over positive/negative, or
    the `guider`'s; CFG++ samplers step with the uncond prediction, so it is never skipped."""
    cfg_pp = sampler in CFG_PP
    if guider is not None:
        return from_guider(guider, always_uncond=cfg_pp)
    return CFGDenoiser(model, positive, negative, cfg, always_uncond=cfg_pp)


def sample_range(
    model: DiffusionModel,
    latent: Latent,
    positive: Cond,
    negative: Cond,
    *,
    seed: int,
    steps: int,
    cfg: float,
    sampler: str,
    scheduler: str,
    start: int | None = None,
    end: int | None = None,
    add_noise: bool = True,
    leftover_noise: bool = False,
    denoise: float = 1.0,
    sigma_scale: float = 1.0,
    noise_mode: str = "graphrt",
    call_start: int | None = None,
    callback: StepCallback | None = None,
) -> Latent:
    """KSamplerAdvanced: steps [start, end) of sched(steps, denoise), §3.2.

    leftover_noise=False zeroes the last sigma (force_full_denoise). `sigma_scale` multiplies
    the truncated list (Impact's sigma_factor ρ). `callback(i, n, x0)` runs after each
    step's model evaluation with x0 the denoised prediction in raw VAE units; an exception
    it raises propagates (interrupts). In noise mode "comfy" this range is (part of) ONE
    ComfyUI sampler call that began at `call_start` (None: at `start`): the generator draws
    start − call_start samples before the first step, and SDE trees span this range's list.
    """
    table = model.table
    sigmas = step_range(
        sampler,
        scheduler,
        steps,
        denoise=denoise,
        start=start,
        end=end,
        force_full_denoise=not leftover_noise,
        table=table,
    )
    first = start or 0
    skip = first - (first if call_start is None else call_start)
    if skip < 0:
        raise ValueError(f"call_start ({call_start}) is after start ({first})")
    skip *= DRAWS_PER_STEP.get(sampler, 1)  # the draws of the skipped steps
    full: list[float] = []
    if noise_mode == "graphrt":
        full = base_sigmas(sampler, scheduler, steps, denoise=denoise, table=table)
        full = scale_sigmas(full, sigma_scale)
    return run_sigmas(
        model,
        latent,
        positive,
        negative,
        scale_sigmas(sigmas, sigma_scale),
        seed=seed,
        cfg=cfg,
        sampler=sampler,
        add_noise=add_noise,
        offset=first,
        full_sigmas=full,
        noise_mode=noise_mode,
        skip=skip,
        callback=callback,
    )
