"""The Unsampler of ComfyUI_Noise (docs/semantics.md §10): integrate a deterministic solver
backwards.

With e′ = min(end_at_step, n−1) and b = n − e′, run over S = reversed(sched(n)) + 1e-4 (the
discard-penultimate rule applies), truncated to S[0..b] without zeroing, from x = k·L with
zero noise; the noise mask keeps its masked-out area at L. The result mirrors a later
KSamplerAdvanced with start_at_step = e′ and add_noise off. Stochastic samplers are rejected
(ComfyUI gives NaN or unseeded noise); `seed` feeds ddim's inpaint noise (ComfyUI: TypeError).
"""

from __future__ import annotations

from .guidance import Cond
from .ksampler import Latent, StepCallback, run_sigmas
from .model import DiffusionModel
from .names import STOCHASTIC, check_sampler
from .schedules import Table, sampler_sigmas

OFFSET = 1e-4  # keeps σ > 0: no division by σ, no log 0


def unsample_sigmas(
    sampler: str, scheduler: str, steps: int, end_at_step: int, table: Table | None = None
) -> list[float]:
    """The ascending list [1e-4, σ_{n−1}+1e-4, …, σ_{e′}+1e-4] of §10.2 steps 1, 2 and 5."""
    b = steps - min(end_at_step, steps - 1)
    s = [v + OFFSET for v in reversed(sampler_sigmas(sampler, scheduler, steps, table))]
    return s[: b + 1] if b < len(s) - 1 else s


def unsample(
    model: DiffusionModel,
    latent: Latent,
    positive: Cond,
    negative: Cond,
    *,
    steps: int,
    end_at_step: int,
    cfg: float,
    sampler: str,
    scheduler: str,
    normalize: bool,
    seed: int = 0,
    callback: StepCallback | None = None,
) -> Latent:
    """Recover the noisy latent at step e′ from a clean one (§10.2); returns a new dict."""
    if check_sampler(sampler) in STOCHASTIC:
        raise ValueError(f"unsample needs a deterministic sampler; {sampler!r} is stochastic")
    if steps < 1 or end_at_step < 0:
        raise ValueError(f"unsample needs steps ≥ 1, end_at_step ≥ 0; got {steps}, {end_at_step}")
    sigmas = unsample_sigmas(sampler, scheduler, steps, end_at_step, model.table)
    out = run_sigmas(
        model,
        latent,
        positive,
        negative,
        sigmas,
        seed=seed,
        cfg=cfg,
        sampler=sampler,
        add_noise=False,
        callback=callback,
    )
    if normalize:
        x = out["samples"]
        out["samples"] = (x - x.mean()) / x.std()
    return out
