"""[0,n) equals [0,k) + [k,n) with leftover noise kept and no noise re-added (docs/design-notes.md).

Differences are measured in internal units (k·samples, data of unit scale): with
k = 0.13025 the raw hand-off latent reaches |σ/k| ≈ 100, where float32 steps are ~1e-5.
"""

from __future__ import annotations

import pytest
import torch
from gaussian_net import cond, gaussian_model

from graphrt.ops.kernels.ksampler import sample_range
from graphrt.ops.kernels.samplers import MULTISTEP, RANGE_DEPENDENT, SAMPLERS, SPLIT_INVARIANT

KW = {"seed": 11, "steps": 6, "cfg": 2.5, "scheduler": "karras"}
POS, NEG = cond(0.5), cond(0.0)


def _split_error(sampler: str, k: int) -> float:
    model = gaussian_model()
    g = torch.Generator().manual_seed(1)
    lat = {"samples": torch.randn(2, 4, 8, 8, generator=g)}
    whole = sample_range(model, lat, POS, NEG, sampler=sampler, **KW)
    first = sample_range(model, lat, POS, NEG, sampler=sampler, end=k, leftover_noise=True, **KW)
    second = sample_range(model, first, POS, NEG, sampler=sampler, start=k, add_noise=False, **KW)
    diff = (whole["samples"] - second["samples"]) * model.latent_scale
    return float(diff.abs().max())  # internal units: the hand-off rounds z/k·k in float32


@pytest.mark.parametrize("sampler", sorted(SPLIT_INVARIANT))
def test_single_step_samplers_split_exactly(sampler: str) -> None:
    assert _split_error(sampler, 2) <= 1e-5
    assert _split_error(sampler, 5) <= 1e-5  # the last step of stage 2 goes to 0


@pytest.mark.parametrize("sampler", sorted(RANGE_DEPENDENT))
def test_range_dependent_samplers_are_documented_exceptions(sampler: str) -> None:
    """Multistep history restarts at the boundary (and heunpp2/dpm_fast see the range ends)."""
    assert _split_error(sampler, 3) > 1e-4


def test_families() -> None:
    assert MULTISTEP <= RANGE_DEPENDENT
    assert {
        "euler_ancestral",
        "dpm_2_ancestral",
        "dpmpp_2s_ancestral",
        "dpmpp_sde",
        "ddpm",
        "lcm",
    } <= SPLIT_INVARIANT
    assert set(SAMPLERS) == SPLIT_INVARIANT | RANGE_DEPENDENT


def test_stage_two_noise_follows_its_seed() -> None:
    """Stage 2's ancestral noise is keyed by (seed, absolute step): another seed changes it."""
    model = gaussian_model()
    lat = {"samples": torch.zeros(1, 4, 8, 8)}
    first = sample_range(
        model, lat, POS, NEG, sampler="euler_ancestral", end=2, leftover_noise=True, **KW
    )
    a = sample_range(
        model, first, POS, NEG, sampler="euler_ancestral", start=2, add_noise=False, **KW
    )
    b = sample_range(
        model,
        first,
        POS,
        NEG,
        sampler="euler_ancestral",
        start=2,
        add_noise=False,
        **{**KW, "seed": 12},
    )
    assert not torch.equal(a["samples"], b["samples"])


def test_comfy_later_samplers_are_multistep() -> None:
    """ComfyUI's later samplers keep a history (uni_pc also ends a range at σ = 0.001, deis
    takes its weights from the whole list): none is split-invariant."""
    later = {"ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_ancestral", "uni_pc",
             "uni_pc_bh2"}
    assert later <= MULTISTEP
    assert not later & SPLIT_INVARIANT


def test_res_multistep_ancestral_noise_follows_the_seed_and_mode() -> None:
    model = gaussian_model()
    lat = {"samples": torch.zeros(1, 4, 8, 8)}
    kw = {**KW, "sampler": "res_multistep_ancestral"}
    a = sample_range(model, lat, POS, NEG, **kw)["samples"]
    assert torch.equal(a, sample_range(model, lat, POS, NEG, **kw)["samples"])
    b = sample_range(model, lat, POS, NEG, **{**kw, "seed": 12})["samples"]
    c = sample_range(model, lat, POS, NEG, noise_mode="comfy", **kw)["samples"]
    assert not torch.equal(a, b) and not torch.equal(a, c)
