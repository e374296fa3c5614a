"""Schedulers (docs/semantics.md §2) against the formulas, recomputed independently here."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy.stats import beta as beta_dist

from graphrt.ops.kernels.schedules import (
    DISCARD_PENULTIMATE,
    SCHEDULERS,
    calculate_sigmas,
    sampler_sigmas,
)


def _table() -> list[float]:
    """§1.3: σ_t = √((1−ᾱ_t)/ᾱ_t), β_t = (√0.00085 + t/999·(√0.012 − √0.00085))²."""
    out, abar = [], 1.0
    for t in range(1000):
        abar *= 1 - (math.sqrt(0.00085) + t / 999 * (math.sqrt(0.012) - math.sqrt(0.00085))) ** 2
        out.append(math.sqrt((1 - abar) / abar))
    return out


T = _table()
SMIN, SMAX = T[0], T[-1]


def _sigma(t: float) -> float:
    lo = math.floor(t)
    hi = min(lo + 1, 999)
    return math.exp((1 - (t - lo)) * math.log(T[lo]) + (t - lo) * math.log(T[hi]))


def _expected(name: str, n: int) -> list[float]:
    r = [i / (n - 1) for i in range(n)] if n > 1 else [0.0]
    if name == "normal":
        return [_sigma(999 - 999 * i / (n - 1)) for i in range(n)] + [0.0] if n > 1 else [SMAX, 0]
    if name == "sgm_uniform":
        return [_sigma(999 - 999 * i / n) for i in range(n)] + [0.0]
    if name == "simple":
        return [T[999 - int(i * (1000 / n))] for i in range(n)] + [0.0]
    if name == "ddim_uniform":
        ss = max(1000 // n, 1)
        return [T[i] for i in range(1, 1000, ss)][::-1] + [0.0]
    if name == "karras":
        return [(SMAX ** (1 / 7) + v * (SMIN ** (1 / 7) - SMAX ** (1 / 7))) ** 7 for v in r] + [0.0]
    if name == "exponential":
        return [math.exp(math.log(SMAX) + v * (math.log(SMIN) - math.log(SMAX))) for v in r] + [0.0]
    if name == "beta":
        ts = [round(999 * beta_dist.ppf(1 - i / n, 0.6, 0.6)) for i in range(n)]
        return [T[t] for j, t in enumerate(ts) if j == 0 or t != ts[j - 1]] + [0.0]
    if name == "linear_quadratic":
        if n == 1:
            return [SMAX, 0.0]
        lin, tau = n // 2, 0.025
        q = n - lin
        a = (lin - tau * n) / (lin * q * q)
        b = tau / lin - 2 * (lin - tau * n) / (q * q)
        s = [i * tau / lin for i in range(lin)]
        s += [a * i * i + b * i + a * lin * lin for i in range(lin, n)]
        return [SMAX * (1 - v) for v in s] + [0.0]
    assert name == "kl_optimal"
    return [math.tan((1 - v) * math.atan(SMAX) + v * math.atan(SMIN)) for v in r] + [0.0]


CASES = [(s, n) for s in SCHEDULERS for n in (1, 2, 3, 7, 20, 30) if (s, n) != ("kl_optimal", 1)]


@pytest.mark.parametrize(("name", "n"), CASES)
def test_matches_formula(name: str, n: int) -> None:
    got = calculate_sigmas(name, n)
    # normal / sgm_uniform are computed in float32, as ComfyUI computes them (their ties pick
    # ComfyUI's timestep: tests/seeds/test_masked_pair_impact_path.py)
    rel = 1e-6 if name in ("normal", "sgm_uniform") else 1e-9  # a few float32 ulps
    assert got == pytest.approx(_expected(name, n), rel=rel, abs=1e-12)
    assert got[-1] == 0.0
    assert all(a > b for a, b in zip(got, got[1:], strict=False))  # strictly descending


def test_ddim_uniform_can_exceed_n() -> None:
    s = calculate_sigmas("ddim_uniform", 30)
    assert len(s) - 1 == 31  # ⌈999/33⌉
    assert s[-2] == pytest.approx(T[1])  # ≈ 0.0413
    assert calculate_sigmas("ddim_uniform", 20)[0] == pytest.approx(T[951])  # never σ_max


def test_beta_can_give_fewer_steps() -> None:
    assert len(calculate_sigmas("beta", 138)) - 1 == 138
    assert len(calculate_sigmas("beta", 139)) - 1 < 139  # duplicate timesteps dropped


def test_simple_keeps_float_truncation() -> None:
    """int(19·(1000/38)) = 499 although 19·1000/38 = 500 exactly: reproduced (ComfyUI)."""
    assert calculate_sigmas("simple", 38)[19] == T[999 - 499]


def test_edge_cases() -> None:
    assert calculate_sigmas("linear_quadratic", 1) == [SMAX, 0.0]
    assert calculate_sigmas("karras", 1) == pytest.approx([SMAX, 0.0])
    with pytest.raises(ValueError, match="kl_optimal"):
        calculate_sigmas("kl_optimal", 1)
    with pytest.raises(ValueError, match="unknown scheduler"):
        calculate_sigmas("nope", 5)
    with pytest.raises(ValueError):
        calculate_sigmas("normal", 0)


@pytest.mark.parametrize("sampler", sorted(DISCARD_PENULTIMATE))
def test_discard_penultimate(sampler: str) -> None:
    full = calculate_sigmas("karras", 6)  # n+1 = 6 steps for n = 5
    got = sampler_sigmas(sampler, "karras", 5)
    assert len(got) == 6 and got == full[:-2] + [0.0]
    assert got[-2] == full[-3]  # the last step jumps to 0 from a larger sigma
    assert sampler_sigmas(sampler, "kl_optimal", 1)[-1] == 0.0  # 2 steps: no error


def test_other_samplers_keep_the_schedule() -> None:
    assert sampler_sigmas("euler", "normal", 5) == calculate_sigmas("normal", 5)


@pytest.mark.parametrize("module", ["schedules", "steps", "names", "table"])
def test_pure_python(module: str) -> None:
    """The planner imports these without torch: no module-level torch or scipy import."""
    import ast
    import importlib

    mod = importlib.import_module(f"graphrt.ops.kernels.{module}")
    tree = ast.parse(Path(str(mod.__file__)).read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not [m for m in names if m.split(".")[0] in ("torch", "scipy", "numpy")]
