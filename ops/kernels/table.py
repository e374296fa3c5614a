"""The discrete "scaled linear" noise table of SD and SDXL, in pure Python (no torch).

σ_t = √((1−ᾱ_t)/ᾱ_t) for t = 0..999, ascending; β_t = (√0.00085 + t/999·(√0.012 − √0.00085))².
Schedules and the planner use this table without importing torch.
"""

from __future__ import annotations

import bisect
import math
from functools import lru_cache

NUM_TIMESTEPS = 1000
BETA_START = 0.00085
BETA_END = 0.012


@lru_cache(maxsize=4)
def sigma_table(
    beta_start: float = BETA_START, beta_end: float = BETA_END, n: int = NUM_TIMESTEPS
) -> tuple[float, ...]:
    """Ascending σ_t of the scaled-linear schedule (float64)."""
    lo, hi = math.sqrt(beta_start), math.sqrt(beta_end)
    sigmas = []
    alpha_bar = 1.0
    for t in range(n):
        beta = (lo + (t / (n - 1)) * (hi - lo)) ** 2
        alpha_bar *= 1.0 - beta
        sigmas.append(math.sqrt((1.0 - alpha_bar) / alpha_bar))
    return tuple(sigmas)


def sigma_min(table: tuple[float, ...] | None = None) -> float:
    return (table or sigma_table())[0]


def sigma_max(table: tuple[float, ...] | None = None) -> float:
    return (table or sigma_table())[-1]


def t_to_sigma(t: float, table: tuple[float, ...] | None = None) -> float:
    """σ at a fractional timestep: ln σ interpolated linearly between ⌊t⌋ and ⌈t⌉."""
    table = table or sigma_table()
    t = min(max(t, 0.0), len(table) - 1.0)
    lo = int(math.floor(t))
    hi = min(lo + 1, len(table) - 1)
    w = t - lo
    return math.exp((1.0 - w) * math.log(table[lo]) + w * math.log(table[hi]))


def sigma_to_t(
    sigma: float, table: tuple[float, ...] | None = None, quantize: bool = True
) -> float:
    """Timestep of σ: argmin |ln σ − ln σ_t| when quantized, else log-linear interpolation."""
    table = table or sigma_table()
    logs = [math.log(s) for s in table]
    ls = math.log(sigma)
    i = bisect.bisect_left(logs, ls)
    if quantize:
        cands = [j for j in (i - 1, i) if 0 <= j < len(logs)]
        return float(min(cands, key=lambda j: abs(ls - logs[j])))
    if i <= 0:
        return 0.0
    if i >= len(logs):
        return float(len(logs) - 1)
    w = (ls - logs[i - 1]) / (logs[i] - logs[i - 1])
    return (i - 1) + w
