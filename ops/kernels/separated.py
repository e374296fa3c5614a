"""Impact Pack's sampling primitive `separated_sample` (docs/semantics.md §7.1), on graphrt's
kernels.

It differs from KSamplerAdvanced (ksampler.py) in five ways, all reproduced here:
- the schedule T is the FULL sched(steps) (discard-penultimate rule applied, no denoise);
- truncating at `end` without leftover noise writes 0 into T itself (Impact slices a view),
  which shrinks the Brownian interval of SDE samplers when end = steps − 1;
- the cut list is scaled by ρ (sigma_factor × recovery ratio) after truncation;
- SDE samplers get one Brownian tree over [min positive T, max T] of that full list;
- without leftover noise the result is the LAST callback x0 (D′ of the final step), not the
  solver state (equal for Euler, DPM++ and ancestral samplers ending at 0).
Impact re-creates its noise generator per call, so every one-step call of a regional loop
draws the same ancestral noise (§15 #8): in noise mode "graphrt" noise is keyed by the step
index within the call (offset 0), which reproduces that; in mode "comfy" each call draws from
its own fresh ComfyUI generator, and SDE samplers get Impact's tree over T (on CPU, or on the
device for the `_gpu` names). `mask`, when given, is this call's noise mask and the result
carries no noise_mask (the regional loops set one per call and drop it after).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .guidance import Cond
from .ksampler import Latent, StepCallback, run_sigmas
from .model import DiffusionModel
from .schedules import Table, sampler_sigmas


def separated_sigmas(
    sampler: str,
    scheduler: str,
    steps: int,
    start: int,
    end: int,
    leftover: bool,
    scale: float = 1.0,
    table: Table | None = None,
) -> tuple[list[float], list[float]]:
    """(S, T): the list the sampler runs over (§7.1 steps 1–4; [] = input returned as is)
    and the full schedule T after the view quirk (it spans the Brownian tree)."""
    if start < 0 or end < 0:
        raise ValueError(f"start and end must be ≥ 0, got start={start}, end={end}")
    full = sampler_sigmas(sampler, scheduler, steps, table)
    s = full
    if end < len(full) - 1:
        s = full[: end + 1]
        if not leftover:
            s[end] = 0.0
            full[end] = 0.0  # Impact writes through a view into the total list
    if start >= len(s) - 1 or scale == 0.0:
        # scale 0: every σ is 0; Impact's dpm_fast returns the input there, others give NaN
        return [], full
    s = [v * scale for v in s[start:]] if scale != 1.0 else s[start:]
    return s, full


def _without_mask(latent: Latent) -> Latent:
    return {k: v for k, v in latent.items() if k != "noise_mask"}


def run_separated(
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
    start: int,
    end: int,
    add_noise: bool,
    leftover: bool,
    scale: float = 1.0,
    mask: torch.Tensor | None = None,
    noise_mode: str = "graphrt",
    callback: StepCallback | None = None,
    guided: Any = None,
    probe: bool = False,
) -> Latent:
    """One `separated_sample` call (§7.1); returns a new latent dict. `guided`: the CFG
    denoiser of (model, positive, negative, cfg, sampler) prebuilt by a caller that makes
    many calls with them (ksampler.guided_denoiser), else built here. `probe`: see
    ksampler.run_sigmas."""
    sigmas, full = separated_sigmas(
        sampler, scheduler, steps, start, end, leftover, scale, model.table
    )
    source = latent if mask is None else {**latent, "noise_mask": mask}
    if not sigmas:
        return _without_mask(latent) if mask is not None else dict(latent)
    last: list[torch.Tensor] = []

    def record(i: int, n: int, x0: torch.Tensor) -> None:
        last[:] = [x0]
        if callback is not None:
            callback(i, n, x0)

    out = run_sigmas(
        model, source, positive, negative, sigmas, seed=seed, cfg=cfg, sampler=sampler,
        add_noise=add_noise, offset=0, full_sigmas=_positive_or(full, sigmas),
        noise_mode=noise_mode, callback=record, guided=guided, probe=probe,
    )
    if not leftover and last:
        out = {**out, "samples": last[0].to(latent["samples"].dtype)}
    return _without_mask(out) if mask is not None else out


def _positive_or(full: Sequence[float], sigmas: Sequence[float]) -> list[float]:
    """T for the Brownian tree; falls back to the run's list if T has no positive σ."""
    return list(full) if any(v > 0 for v in full) else list(sigmas)

