"""The nine schedulers of docs/semantics.md §2, in pure Python (no torch; scipy only for `beta`).

Every schedule is a descending list of n+1 (ddim_uniform: possibly more, beta: possibly fewer)
float sigmas ending in 0, computed over the discrete table of `table.py` (§1.3). Arithmetic
follows the current ComfyUI formulas, float quirks included (e.g. `simple` takes
int(i·(1000/n)), which for n = 38, i = 19 gives 499, not ⌊19·1000/38⌋ = 500). `normal` and
`sgm_uniform` are computed in float32 as ComfyUI computes them (`_uniform`): their σ at a
half-integer timestep lies halfway between two table entries in log space, and which one the
model's quantized t(σ) picks depends on those float32 bits (docs/reproducibility.md §8).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

from .float32 import f32
from .table import sigma_table

Table = tuple[float, ...]

SCHEDULERS = (
    "normal",
    "karras",
    "exponential",
    "sgm_uniform",
    "simple",
    "ddim_uniform",
    "beta",
    "linear_quadratic",
    "kl_optimal",
)

# Samplers whose schedule is computed for n+1 steps with the penultimate sigma dropped (§2).
DISCARD_PENULTIMATE = frozenset({"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"})


def _linspace(a: float, b: float, n: int) -> list[float]:
    """n evenly spaced points from a to b inclusive (n = 1 gives [a])."""
    if n == 1:
        return [a]
    return [a + (b - a) * i / (n - 1) for i in range(n)]


@lru_cache(maxsize=8)
def _log_table32(table: Table) -> tuple[float, ...]:
    """ComfyUI's log_sigmas: ln of the float64 table, then rounded to float32."""
    return tuple(f32(math.log(s)) for s in table)


def _linspace32(a: float, b: float, n: int) -> list[float]:
    """torch.linspace(a, b, n) in float32: step = (b − a)/(n − 1) rounded, then a + i·step
    for the first half and b − (n−1−i)·step for the rest, each with one rounding (fused)."""
    if n == 1:
        return [f32(a)]
    step, half = f32((b - a) / (n - 1)), n // 2
    return [f32(a + step * i) if i < half else f32(b - step * (n - 1 - i)) for i in range(n)]


def _uniform(table: Table, n: int, sgm: bool) -> list[float]:
    """normal / sgm_uniform: timesteps 999 → 0 evenly spaced, mapped by σ(t) (§2), in float32
    as ComfyUI: ln σ = (1−w)·ln σ_⌊t⌋ + w·ln σ_⌈t⌉ over the float32 log table, each product
    and the sum rounded to float32, then exp rounded to float32."""
    last, logs = len(table) - 1.0, _log_table32(table)
    ts = _linspace32(last, 0.0, n + 1)[:-1] if sgm else _linspace32(last, 0.0, n)
    out: list[float] = []
    for t in ts:
        t = min(max(t, 0.0), last)
        lo, hi = math.floor(t), math.ceil(t)
        w = t - lo  # exact: t is a float32
        v = f32(f32(f32(1.0 - w) * logs[lo]) + f32(w * logs[hi]))
        out.append(f32(math.exp(v)))
    return out + [0.0]


def _simple(table: Table, n: int) -> list[float]:
    ss = len(table) / n
    return [table[-(1 + int(i * ss))] for i in range(n)] + [0.0]


def _ddim_uniform(table: Table, n: int) -> list[float]:
    """Table indices 1, 1+ss, … below len, reversed, then 0; ⌈999/ss⌉ steps, may exceed n."""
    ss = max(len(table) // n, 1)
    return [table[i] for i in range(1, len(table), ss)][::-1] + [0.0]


def _karras(table: Table, n: int, rho: float = 7.0) -> list[float]:
    lo, hi = table[0] ** (1 / rho), table[-1] ** (1 / rho)
    return [(hi + r * (lo - hi)) ** rho for r in _linspace(0.0, 1.0, n)] + [0.0]


def _exponential(table: Table, n: int) -> list[float]:
    return [math.exp(v) for v in _linspace(math.log(table[-1]), math.log(table[0]), n)] + [0.0]


def _beta(table: Table, n: int, alpha: float = 0.6, beta: float = 0.6) -> list[float]:
    """t_i = rint(999·F⁻¹_Beta(1 − i/n)), consecutive duplicates dropped: may give < n steps."""
    from scipy.stats import beta as beta_dist  # lazy: keep the module import light

    total = len(table) - 1
    out: list[float] = []
    last = -1.0
    for i in range(n):  # numpy's linspace(0, 1, n, endpoint=False) is i·(1/n)
        t = float(round(float(beta_dist.ppf(1.0 - i * (1.0 / n), alpha, beta)) * total))
        if t != last:
            out.append(table[int(t)])
        last = t
    return out + [0.0]


def _linear_quadratic(table: Table, n: int, tau: float = 0.025) -> list[float]:
    if n == 1:
        return [table[-1], 0.0]
    lin = n // 2
    quad = n - lin
    diff = lin - tau * n
    a = diff / (lin * quad**2)
    b = tau / lin - 2 * diff / quad**2
    c = a * lin**2
    s = [i * tau / lin for i in range(lin)] + [a * i * i + b * i + c for i in range(lin, n)]
    return [table[-1] * (1.0 - v) for v in s + [1.0]]


def _kl_optimal(table: Table, n: int) -> list[float]:
    if n < 2:
        raise ValueError("scheduler 'kl_optimal' needs at least 2 steps (1 step divides 0 by 0)")
    lo, hi = math.atan(table[0]), math.atan(table[-1])
    return [math.tan(r * lo + (1 - r) * hi) for r in (i / (n - 1) for i in range(n))] + [0.0]


_FUNCS: dict[str, Callable[[Table, int], list[float]]] = {
    "normal": lambda tb, n: _uniform(tb, n, sgm=False),
    "karras": _karras,
    "exponential": _exponential,
    "sgm_uniform": lambda tb, n: _uniform(tb, n, sgm=True),
    "simple": _simple,
    "ddim_uniform": _ddim_uniform,
    "beta": _beta,
    "linear_quadratic": _linear_quadratic,
    "kl_optimal": _kl_optimal,
}


class _Same:
    """A table keyed by identity (hashing 1000 floats costs more than most schedules); it is
    held by the key, so its id stays its own."""

    __slots__ = ("table",)

    def __init__(self, table: Table) -> None:
        self.table = table

    def __hash__(self) -> int:
        return id(self.table)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.table is self.table


@lru_cache(maxsize=256)
def _schedule(scheduler: str, n: int, table: _Same) -> tuple[float, ...]:
    return tuple(_FUNCS[scheduler](table.table, n))


def calculate_sigmas(scheduler: str, n: int, table: Table | None = None) -> list[float]:
    """Schedule `scheduler` with n steps over `table` (default: scaled linear), §2; a new
    list each call (computed once per scheduler, n and table object).

    Unknown names and n < 1 raise ValueError (ComfyUI silently falls back; graphrt rejects).
    """
    if scheduler not in _FUNCS:
        raise ValueError(f"unknown scheduler {scheduler!r}; expected one of {SCHEDULERS}")
    if n < 1:
        raise ValueError(f"a schedule needs at least 1 step, got {n}")
    return list(_schedule(scheduler, n, _Same(table or sigma_table())))


def sampler_sigmas(sampler: str, scheduler: str, n: int, table: Table | None = None) -> list[float]:
    """The KSampler schedule: for DISCARD_PENULTIMATE samplers, sched(n+1) minus its σ[-2]."""
    if sampler in DISCARD_PENULTIMATE:
        s = calculate_sigmas(scheduler, n + 1, table)
        return s[:-2] + s[-1:]
    return calculate_sigmas(scheduler, n, table)
