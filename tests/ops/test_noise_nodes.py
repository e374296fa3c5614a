"""ComfyUI_Noise's latent nodes (ops/latent_noise.py, sigmas.get_sigma) and Impact's
KSamplerProvider / TwoSamplersForMask (ops/impact.py), against hand-worked arrays and the
semantics they reproduce."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from gaussian_net import cond, gaussian_model

from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.ops import impact, latent_noise, schedule
from graphrt.ops.kernels.ksampler import sample_range
from graphrt.ops.kernels.schedules import calculate_sigmas


def _ctx(tmp_path: Path) -> OpContext:
    return OpContext.detached(folders=Folders(tmp_path, tmp_path, tmp_path / "out"))


def test_noisy_latent_is_the_seeds_cpu_draw(tmp_path: Path) -> None:
    p = latent_noise.Noisy(seed=7, width=64, height=32, batch=2)
    out = latent_noise.noisy(p, ctx=_ctx(tmp_path))["samples"]
    want = torch.randn(2, 4, 4, 8, generator=torch.Generator().manual_seed(7))
    assert torch.equal(out, want)


def test_duplicate_index_clamps_and_repeats() -> None:
    samples = torch.arange(3.0).reshape(3, 1, 1, 1).repeat(1, 4, 2, 2)
    lat = {"samples": samples, "batch_index": [0, 1, 2]}
    out = latent_noise.duplicate_index(latent_noise.DuplicateIndex(batch_index=5, batch_size=4),
                                       lat)
    assert torch.equal(out["samples"], torch.full((4, 4, 2, 2), 2.0))
    assert out["batch_index"] == [0, 1, 2]  # other keys pass through, as ComfyUI_Noise's copy


def _vec(a: float, b: float) -> dict[str, torch.Tensor]:
    return {"samples": torch.tensor([float(a), float(b)]).reshape(1, 2, 1, 1)}


def test_slerp_by_hand() -> None:
    r = math.sqrt(0.5)  # ω = π/2 between (1, 0) and (0, 1): sin(π/4)·a + sin(π/4)·b
    out = latent_noise.slerp(latent_noise.Slerp(factor=0.5), _vec(1, 0), _vec(0, 1))
    torch.testing.assert_close(out["samples"].reshape(2), torch.tensor([r, r]))
    third = latent_noise.slerp(latent_noise.Slerp(factor=1 / 3), _vec(2, 0), _vec(0, 4))
    want = torch.tensor([2 * math.sin(math.pi / 3), 4 * math.sin(math.pi / 6)])
    torch.testing.assert_close(third["samples"].reshape(2), want)
    zero = latent_noise.slerp(latent_noise.Slerp(factor=0.5), _vec(0, 0), _vec(0, 2))
    torch.testing.assert_close(zero["samples"].reshape(2), torch.tensor([0.0, 2 * r]))
    keep = latent_noise.slerp(latent_noise.Slerp(factor=0.5), _vec(1, 0), _vec(0, 1),
                              torch.zeros(1, 1))
    assert torch.equal(keep["samples"], _vec(1, 0)["samples"])
    assert torch.equal(latent_noise.slerp(latent_noise.Slerp(), _vec(1, 0))["samples"],
                       _vec(1, 0)["samples"])


def test_inject_noise_scales_masks_and_takes_a_linked_strength() -> None:
    lat = {"samples": torch.ones(1, 4, 2, 2), "noise_mask": torch.ones(2, 2)}
    noise = {"samples": torch.full((1, 4, 2, 2), 2.0)}
    p = latent_noise.InjectNoise(strength=0.25)
    assert torch.equal(latent_noise.inject_noise(p, lat, noise)["samples"],
                       torch.full((1, 4, 2, 2), 1.5))
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.5]])
    out = latent_noise.inject_noise(p, lat, noise, mask)
    torch.testing.assert_close(out["samples"][0, 0], torch.tensor([[1.5, 1.0], [1.0, 1.25]]))
    assert "noise_mask" in out
    linked = latent_noise.inject_noise(p, lat, noise, None, 2.0)
    assert torch.equal(linked["samples"], torch.full((1, 4, 2, 2), 5.0))
    assert torch.equal(latent_noise.inject_noise(p, lat)["samples"], lat["samples"])


def test_get_sigma_is_the_noise_between_two_steps_in_raw_units() -> None:
    model = gaussian_model(latent_scale=0.18215)
    sched = torch.tensor(calculate_sigmas("karras", 10, model.table), dtype=torch.float32)
    got = schedule.get_sigma(schedule.GetSigma(sampler="euler", scheduler="karras", steps=10,
                                               start_at_step=2, end_at_step=25), model)
    assert got == float((sched[2] - sched[10]) / 0.18215)
    # dpm_2 drops the penultimate sigma of sched(11); end ≤ steps, start ≤ end
    drop = torch.tensor(calculate_sigmas("karras", 11, model.table), dtype=torch.float32)
    drop = torch.cat([drop[:-2], drop[-1:]])
    got = schedule.get_sigma(schedule.GetSigma(sampler="dpm_2", scheduler="karras", steps=10,
                                               start_at_step=12, end_at_step=9), model)
    assert got == 0.0 and float(drop[9]) > 0  # start clamps to end: σ[9] − σ[9]
    got = schedule.get_sigma(schedule.GetSigma(sampler="dpm_2", scheduler="karras", steps=10,
                                               start_at_step=0, end_at_step=9), model)
    assert got == float((drop[0] - drop[9]) / 0.18215)
    assert schedule.get_sigma(schedule.GetSigma(steps=0), model) == 0.0


def test_two_samplers_for_mask_is_two_masked_ksampler_runs(tmp_path: Path) -> None:
    """Base outside [mask = 1] then the mask sampler inside; each a KSampler run
    (impact_sample: floor(steps/denoise) steps from the tail, noise from its seed)."""
    model = gaussian_model()
    pipe = (model, None, None, cond(0.5), cond(0.0))
    base = impact.ksampler(impact.KSamplerProvider(seed=3, steps=3, cfg=2.0, denoise=0.6), pipe)
    inner = impact.ksampler(impact.KSamplerProvider(seed=4, steps=2, cfg=4.0, sampler="heun",
                                                    scheduler="karras"), pipe)
    mask = torch.zeros(8, 8)
    mask[2:6, 2:6] = 1.0
    mask[0, 0] = 0.5  # partial values count as outside for the base
    lat = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))}
    got = impact.two_samplers_for_mask(impact.TwoSamplers(), lat, base, inner, mask,
                                       ctx=_ctx(tmp_path))
    assert "noise_mask" not in got
    kw = {"positive": cond(0.5), "negative": cond(0.0)}
    inv = (mask != 1.0).float()
    a = sample_range(model, {**lat, "noise_mask": inv}, **kw, seed=3, steps=3, cfg=2.0,
                     sampler="euler", scheduler="normal", denoise=0.6)
    b = sample_range(model, {**a, "noise_mask": mask}, **kw, seed=4, steps=2, cfg=4.0,
                     sampler="heun", scheduler="karras")
    torch.testing.assert_close(got["samples"], b["samples"], rtol=1e-5, atol=1e-5)
    assert int(math.floor(3 / 0.6)) == 5  # KSampler's int(n/d) and Impact's floor agree here
