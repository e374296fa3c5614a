"""Unsampler (docs/semantics.md §10): invert with a deterministic solver, then resample."""

from __future__ import annotations

import pytest
import torch
from gaussian_net import cond, gaussian_model

from graphrt.core.meter import measure
from graphrt.ops.kernels.ksampler import sample_range
from graphrt.ops.kernels.samplers import STOCHASTIC
from graphrt.ops.kernels.schedules import calculate_sigmas
from graphrt.ops.kernels.unsample import unsample, unsample_sigmas

POS, NEG = cond(0.5), cond(0.0)


def _data_latent(model, seed: int = 0) -> dict:  # type: ignore[no-untyped-def]
    """A sample of the model's own data distribution N(0.8, 0.8²) in raw units."""
    g = torch.Generator().manual_seed(seed)
    z = 0.8 + 0.8 * torch.randn(1, 4, 8, 8, generator=g)
    return {"samples": z / model.latent_scale}


def test_sigmas_are_the_reversed_schedule_plus_offset() -> None:
    s = calculate_sigmas("normal", 10)
    got = unsample_sigmas("euler", "normal", 10, end_at_step=4)
    assert got == pytest.approx([v + 1e-4 for v in s[::-1][:7]])  # b = 10 − 4 = 6
    assert got[-1] == pytest.approx(s[4] + 1e-4)  # mirrors a later start_at_step = 4
    assert len(unsample_sigmas("euler", "normal", 10, end_at_step=99)) == 2  # e′ = n − 1


def _round_trip_error(steps: int, end_at_step: int) -> float:
    model = gaussian_model()
    lat = _data_latent(model)
    kw = {"cfg": 1.0, "sampler": "euler", "scheduler": "normal", "steps": steps}
    noisy = unsample(model, lat, POS, NEG, end_at_step=end_at_step, normalize=False, **kw)
    if end_at_step == 0:
        assert float(noisy["samples"].std()) * model.latent_scale > 5.0  # up to σ_max ≈ 14.6
    back = sample_range(model, noisy, POS, NEG, seed=0, start=end_at_step, add_noise=False, **kw)
    return float((back["samples"] - lat["samples"]).abs().mean()) * model.latent_scale


def test_round_trip_with_euler() -> None:
    """Unsample to σ_max then resample, both Euler (DDIM inversion), on N(0.8, 0.8²) data.

    Stated tolerance: mean |error| < 0.12 internal units (data std 0.8) at 20 steps
    (measured 0.090); Euler is first order, so doubling the steps halves it (ratio 1.6–2.4).
    Most of the error comes from the low-σ steps: a partial inversion to end_at_step = 10
    keeps most of it (measured 0.079).
    """
    e20, e40 = _round_trip_error(20, 0), _round_trip_error(40, 0)
    assert e20 < 0.12 and 1.6 < e20 / e40 < 2.4
    assert _round_trip_error(20, 10) < 0.1


def test_masked_out_area_stays_and_normalize() -> None:
    model = gaussian_model()
    mask = torch.zeros(8, 8)
    mask[:, :4] = 1.0
    lat = {**_data_latent(model), "noise_mask": mask}
    kw = {"steps": 6, "end_at_step": 2, "cfg": 2.0, "sampler": "euler", "scheduler": "karras"}
    out = unsample(model, lat, POS, NEG, normalize=False, **kw)
    assert torch.equal(out["samples"][..., 5:], lat["samples"][..., 5:])
    normed = unsample(model, lat, POS, NEG, normalize=True, **kw)["samples"]
    assert float(normed.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(normed.std()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("sampler", sorted(STOCHASTIC))
def test_stochastic_samplers_rejected(sampler: str) -> None:
    model = gaussian_model()
    with measure() as m, pytest.raises(ValueError, match="stochastic"):
        unsample(
            model,
            _data_latent(model),
            POS,
            NEG,
            steps=4,
            end_at_step=0,
            cfg=1.0,
            sampler=sampler,
            scheduler="normal",
            normalize=False,
        )
    assert m["model_calls"] == 0
