"""sample_range (docs/semantics.md §3, §1.6, §5) on the exact Gaussian test model."""

from __future__ import annotations

import pytest
import torch
from gaussian_net import cond, gaussian_model

from graphrt.core.meter import measure
from graphrt.ops.kernels.guidance import CFGDenoiser
from graphrt.ops.kernels.ksampler import sample_range
from graphrt.ops.kernels.samplers import SAMPLERS
from graphrt.ops.kernels.steps import model_calls, scale_sigmas, step_range

POS, NEG = cond(0.5), cond(0.0)


def _latent(seed: int = 0, batch: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"samples": torch.randn(batch, 4, 8, 8, generator=g)}


def _run(model, latent, **kw):  # type: ignore[no-untyped-def]
    args = {"seed": 3, "steps": 6, "cfg": 2.0, "sampler": "euler", "scheduler": "normal"}
    return sample_range(model, latent, POS, NEG, **{**args, **kw})


def test_full_run_reaches_the_data_mean() -> None:
    model = gaussian_model(mu=0.3, spread=0.5)
    out = _run(model, {"samples": torch.zeros(1, 4, 16, 16)}, cfg=1.0, steps=12, sampler="heun")
    z = out["samples"] * model.latent_scale
    assert float(z.mean()) == pytest.approx(0.8, abs=0.05)  # μ + mean(context) = 0.3 + 0.5
    assert float(z.std()) == pytest.approx(0.5, rel=0.1)


def test_noise_mask_keeps_masked_out_area_exactly() -> None:
    model, lat = gaussian_model(), _latent()
    mask = torch.zeros(1, 4, 4)
    mask[:, :, :2] = 1.0  # resized bilinearly to 8×8: columns 0–2 sample, 5–7 are kept
    out = _run(model, {**lat, "noise_mask": mask}, add_noise=False, start=2)
    assert torch.equal(out["samples"][..., 5:], lat["samples"][..., 5:])
    assert not torch.equal(out["samples"][..., :3], lat["samples"][..., :3])


def test_inputs_not_mutated_and_keys_kept() -> None:
    model = gaussian_model()
    lat = {**_latent(batch=2), "batch_index": [4, 1], "noise_mask": torch.ones(8, 8)}
    before = {k: (v.clone() if torch.is_tensor(v) else list(v)) for k, v in lat.items()}
    out = _run(model, lat, sampler="euler_ancestral")
    assert out is not lat and out["batch_index"] == [4, 1]
    assert out["noise_mask"] is lat["noise_mask"]
    for k, v in before.items():
        assert torch.equal(lat[k], v) if torch.is_tensor(v) else lat[k] == v


def test_empty_range_returns_input_without_model_calls() -> None:
    model, lat = gaussian_model(), _latent()
    with measure() as m:
        out = _run(model, lat, start=6)
    assert torch.equal(out["samples"], lat["samples"]) and m["model_calls"] == 0


def test_cfg_one_skips_uncond_and_batches_entries() -> None:
    model = gaussian_model()
    with measure() as m:
        _run(model, _latent(), cfg=1.0)
    assert m["model_calls"] == 6  # one call per euler step, uncond skipped
    seen = []
    inner = model.denoise
    model.denoise = lambda x, s, c, y=None: seen.append(x.shape[0]) or inner(x, s, c, y)  # type: ignore[method-assign]
    two = POS + cond(0.1, strength=0.5)
    sample_range(
        model,
        _latent(batch=2),
        two,
        NEG,
        seed=1,
        steps=3,
        cfg=4.0,
        sampler="euler",
        scheduler="normal",
    )
    assert seen == [6, 6, 6]  # 3 entries × batch 2, one call per step


def test_cfg_combines_weighted_entries() -> None:
    model = gaussian_model()
    x, sig = torch.randn(1, 4, 8, 8), torch.tensor([2.0])
    mask = torch.zeros(8, 8)
    mask[:, 4:] = 1.0
    pos = cond(1.0, strength=2.0) + cond(0.0, mask=mask)
    d = CFGDenoiser(model, pos, cond(0.2), 3.0)(x, sig)
    dc = [model.denoise(x, sig, torch.full((1, 3, 8), v)) for v in (1.0, 0.0, 0.2)]
    w = mask.expand(1, 4, 8, 8)
    cond_mix = (2 * dc[0] + w * dc[1]) / (2 + w + 1e-37)
    torch.testing.assert_close(d, dc[2] + 3.0 * (cond_mix - dc[2]))


def test_max_denoise_scales_start_noise() -> None:
    model, lat = gaussian_model(), {"samples": torch.zeros(1, 4, 8, 8)}
    seen = []
    model.denoise = lambda x, s, c, y=None: seen.append(x.clone()) or x  # type: ignore[method-assign]
    _run(model, lat, cfg=1.0, steps=4)
    s0 = model.sigma_max
    noise = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(seen[0], noise * (1 + s0 * s0) ** 0.5)
    seen.clear()
    _run(model, lat, cfg=1.0, steps=4, start=1)
    s1 = step_range("euler", "normal", 4)[1]
    torch.testing.assert_close(seen[0], noise * s1)


def test_callback_reports_and_interrupts() -> None:
    model, seen = gaussian_model(), []
    _run(model, _latent(), callback=lambda i, n, x0: seen.append((i, n, x0.shape)))
    assert [s[:2] for s in seen] == [(i, 6) for i in range(6)]

    def stop(i: int, n: int, x0: torch.Tensor) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(model, _latent(), callback=stop)


RANGES = [
    {},
    {"end": 3, "leftover_noise": True},
    {"start": 2, "end": 5},
    {"start": 3, "add_noise": False},
    {"denoise": 0.5, "scheduler": "karras"},
    {"steps": 1},
    {"sigma_scale": 0.9, "end": 4, "leftover_noise": True},
]


@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if s != "dpm_adaptive"])
def test_model_calls_prediction_is_exact(sampler: str) -> None:
    for kw in RANGES:
        model = gaussian_model()
        with measure() as m:
            _run(model, _latent(), sampler=sampler, **kw)
        args = {"steps": 6, "scheduler": "normal", **kw}
        sigmas = step_range(
            sampler,
            args["scheduler"],
            args["steps"],
            denoise=kw.get("denoise", 1.0),
            start=kw.get("start"),
            end=kw.get("end"),
            force_full_denoise=not kw.get("leftover_noise", False),
        )
        predicted = model_calls(sampler, scale_sigmas(sigmas, kw.get("sigma_scale", 1.0)))
        assert predicted == m["model_calls"]


def test_dpm_adaptive_runs() -> None:
    model = gaussian_model()
    with measure() as m:
        out = _run(model, _latent(), sampler="dpm_adaptive")
    assert torch.isfinite(out["samples"]).all() and m["model_calls"] > 0


@pytest.mark.parametrize("sampler", ["euler_ancestral", "dpmpp_sde", "ddpm", "heun"])
def test_global_rng_untouched_by_sampling(sampler: str) -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state()
    _run(gaussian_model(), _latent(), sampler=sampler)
    assert torch.equal(torch.get_rng_state(), before)


def test_ddim_is_euler_with_seed_plus_one_inpaint_noise() -> None:
    model, lat = gaussian_model(), _latent()
    assert torch.equal(
        _run(model, lat, sampler="ddim")["samples"], _run(model, lat, sampler="euler")["samples"]
    )
    masked = {**lat, "noise_mask": torch.full((8, 8), 0.5)}
    assert not torch.equal(
        _run(model, masked, sampler="ddim")["samples"],
        _run(model, masked, sampler="euler")["samples"],
    )


def test_unknown_names_rejected() -> None:
    with pytest.raises(ValueError, match="unknown sampler"):
        _run(gaussian_model(), _latent(), sampler="nope")
    with pytest.raises(ValueError, match="unknown scheduler"):
        _run(gaussian_model(), _latent(), scheduler="nope")
