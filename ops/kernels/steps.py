"""Step-range arithmetic of KSampler (docs/semantics.md §3.2 steps 1–3) and exact model-call counts.

Pure Python: the planner uses both without importing torch. A returned sigma list of length
0 means "return the input latent untouched" (no noise, no model call); a list of length 1
runs no step but still adds its noise (ComfyUI behaviour).
"""

from __future__ import annotations

import math
from functools import lru_cache

from .float32 import f32
from .names import check_sampler
from .schedules import Table, sampler_sigmas

MAX_TOTAL_STEPS = 10_000  # cap on N' = int(steps/denoise) (docs/design-notes.md)


def base_sigmas(
    sampler: str, scheduler: str, steps: int, *, denoise: float = 1.0, table: Table | None = None
) -> list[float]:
    """§3.2 step 1: sched(n) if d > 0.9999; [] if d ≤ 0; else the last n+1 of sched(int(n/d))."""
    check_sampler(sampler)
    if steps < 1 or denoise <= 0.0:
        return []
    total = steps if denoise > 0.9999 else int(steps / denoise)
    if total > MAX_TOTAL_STEPS:
        raise ValueError(
            f"steps/denoise = {steps}/{denoise} gives {total} total steps (max {MAX_TOTAL_STEPS})"
        )
    sigmas = sampler_sigmas(sampler, scheduler, total, table)
    return sigmas if total == steps else sigmas[-(steps + 1) :]


def step_range(
    sampler: str,
    scheduler: str,
    steps: int,
    *,
    denoise: float = 1.0,
    start: int | None = None,
    end: int | None = None,
    force_full_denoise: bool = True,
    table: Table | None = None,
) -> list[float]:
    """The sigma list KSampler(Advanced) runs over (§3.2 steps 1–3); [] = input untouched.

    Memoized for the default table: a sampler node's params check and its model-call
    prediction both ask, at every run."""
    if table is None:
        return list(_step_range(sampler, scheduler, steps, denoise, start, end,
                                force_full_denoise))
    return _steps_of(sampler, scheduler, steps, denoise, start, end, force_full_denoise, table)


@lru_cache(maxsize=512)
def _step_range(sampler: str, scheduler: str, steps: int, denoise: float, start: int | None,
                end: int | None, force_full_denoise: bool) -> tuple[float, ...]:
    return tuple(_steps_of(sampler, scheduler, steps, denoise, start, end, force_full_denoise,
                           None))


def _steps_of(sampler: str, scheduler: str, steps: int, denoise: float, start: int | None,
              end: int | None, force_full_denoise: bool, table: Table | None) -> list[float]:
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise ValueError(f"start and end must be ≥ 0, got start={start}, end={end}")
    s = base_sigmas(sampler, scheduler, steps, denoise=denoise, table=table)
    if not s:
        return []
    if end is not None and end < len(s) - 1:
        s = s[: end + 1]
        if force_full_denoise:
            s[end] = 0.0
    if start is not None:
        if start >= len(s) - 1:
            return []
        s = s[start:]
    return s


def scale_sigmas(sigmas: list[float], factor: float) -> list[float]:
    """Impact's sigma_factor ρ applied after truncation (the list the sampler receives)."""
    return list(sigmas) if factor == 1.0 else [s * factor for s in sigmas]


def _sqrt32(v: float) -> float:
    return f32(math.sqrt(v)) if v >= 0 else math.nan


def ancestral_down_is_zero(sigma: float, sigma_next: float) -> bool:
    """σ_down == 0 as k-diffusion's get_ancestral_step (eta 1) computes it in float32.

    Exact for σ_next/σ ≥ 1e-3 (every pair of a table schedule: σ_min/σ_max ≈ 2e-3); below
    that torch's float32 `** 0.5` can differ from a rounded sqrt by one ulp.
    """
    a, b = f32(sigma_next * sigma_next), f32(sigma * sigma)
    up = _sqrt32(f32(f32(a * f32(b - a)) / b)) if b else math.nan
    up = up if up < sigma_next else sigma_next  # Python min() keeps the first on NaN or tie
    return _sqrt32(f32(a - f32(up * up))) == 0.0


def _heunpp2_calls(s: list[float], i: int) -> int:
    end = s[-1]
    if s[i + 1] == end:
        return 1
    return 2 if s[i + 2] == end else 3


def model_calls(sampler: str, sigmas: list[float]) -> int | None:
    """Exact number of `DiffusionModel.denoise` calls `sampler` makes over `sigmas`.

    None for dpm_adaptive (adaptive step size). CFG batches all entries into one call, so
    this is independent of cfg and of the number of conditioning entries (a guided
    evaluation counts once, guidance.py). Memoized: the planner asks at every run.
    """
    return _model_calls(sampler, tuple(sigmas))


@lru_cache(maxsize=512)
def _model_calls(sampler: str, sigmas: tuple[float, ...]) -> int | None:
    name = check_sampler(sampler).removesuffix("_gpu")
    s = [f32(v) for v in sigmas]
    n = len(s) - 1
    if n < 1:
        return 0
    if name == "dpm_adaptive":
        return None
    if name in ("heun", "dpm_2", "dpmpp_sde", "seeds_2", "exp_heun_2_x0", "exp_heun_2_x0_sde"):
        return sum(1 + (s[i + 1] != 0.0) for i in range(n))
    if name == "seeds_3":
        return sum(1 + 2 * (s[i + 1] != 0.0) for i in range(n))
    if name in ("dpm_2_ancestral", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp"):
        return sum(1 + (not ancestral_down_is_zero(s[i], s[i + 1])) for i in range(n))
    if name == "heunpp2":
        return sum(_heunpp2_calls(s, i) for i in range(n))
    if name == "sa_solver_pece":
        return 2 * n - 1  # every step but the first re-evaluates its corrected state
    return n  # one call per step; dpm_fast spends exactly nfe = n calls
