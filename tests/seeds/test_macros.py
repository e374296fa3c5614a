"""Each seed macro's unrolled graph equals its reference loop (tests/seeds/reference.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import reference as ref
import torch
import toy_graphs as tg

from graphrt import Runtime
from tests.ops.samples import write_tiny_esrgan

TOL = 1e-5
PROMPT = "a red circle on the left"


def run(graph: dict[str, Any], **kw: Any) -> Any:
    result = Runtime(device="cpu", **kw).run(graph)
    assert result.ok, result.failed
    return result.outputs["out"]


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a.float() - b.float()).abs().max())


SPLIT_CASES = [
    {"steps": 6, "sampler": "euler", "scheduler": "karras", "cfg": 4.0, "base_ratio": 0.7},
    {"steps": 5, "sampler": "euler_ancestral", "scheduler": "normal", "base_ratio": 1.0},
    {"steps": 7, "sampler": "dpmpp_2m", "scheduler": "karras", "base_ratio": 0.6,
     "refiner_prep_steps": 2, "noise_offset": 0, "refiner_strength": 0.5, "denoise": 0.8},
    {"steps": 6, "sampler": "ddim", "scheduler": "ddim_uniform", "refiner_prep_steps": 9,
     "refiner_cfg": 2.0, "seed": 2**64 - 1},
    {"steps": 6, "denoise": 0.005},
]


@pytest.mark.parametrize("params", SPLIT_CASES)
def test_split_equals_reference(params: dict[str, Any]) -> None:
    out = run(tg.split_graph(params, PROMPT))
    p = {"seed": 0, "cfg": 7.0, "sampler": "ddim", "scheduler": "ddim_uniform",
         "base_ratio": 0.8, "denoise": 1.0, **params}
    expected = ref.searge_sampler2(
        tg.stage(PROMPT), tg.stage(PROMPT, "toy-shapes-refiner"),
        {"samples": torch.zeros(1, 4, 8, 8)}, seed=p["seed"], steps=p["steps"], cfg=p["cfg"],
        sampler=p["sampler"], scheduler=p["scheduler"], base_ratio=p["base_ratio"],
        denoise=p["denoise"], prep=p.get("refiner_prep_steps", 0),
        noise_offset=p.get("noise_offset", 1), strength=p.get("refiner_strength", 1.0),
        refiner_cfg=p.get("refiner_cfg"))
    assert max_diff(out["samples"], expected["samples"]) <= TOL
    if p["denoise"] < 0.01:
        assert torch.equal(out["samples"], torch.zeros(1, 4, 8, 8))


@pytest.fixture()
def models_dir(tmp_path: Path) -> Path:
    write_tiny_esrgan(tmp_path / "models" / "upscale_models")
    return tmp_path / "models"


I2I_CASES = [
    ({"steps": 4, "denoise": 0.5, "softness": 0.3, "scaled_width": 64,
      "scaled_height": 48, "sampler": "euler", "scheduler": "karras"}, True),
    ({"steps": 0, "scaled_width": 64, "scaled_height": 64}, True),
    ({"steps": 4, "denoise": 0.005, "scaled_width": 64, "scaled_height": 0,
      "softness": 0.5}, True),
    ({"steps": 5, "denoise": 0.6, "softness": 0.5, "scaled_width": None,
      "scaled_height": None, "sampler": "dpmpp_2m", "scheduler": "normal"}, True),
    ({"steps": 4, "denoise": 0.7, "base_ratio": 1.0, "scaled_width": 64, "scaled_height": 64,
      "sampler": "euler", "scheduler": "simple"}, False),
]


@pytest.mark.parametrize(("params", "with_model"), I2I_CASES)
def test_img2img_equals_reference(params: dict[str, Any], with_model: bool,
                                  models_dir: Path) -> None:
    from graphrt.core.paths import Folders
    from graphrt.ops.image import input_path
    from graphrt.ops.kernels.imaging import read_png, scale_image
    from graphrt.ops.models.upscale import load_upscale_model, upscale_tiled

    graph = tg.img2img_graph(params, "a green triangle on the right",
                             "tiny.safetensors" if with_model else None)
    out = run(graph, models_dir=models_dir)
    image = scale_image(read_png(input_path(Folders(), "example.png"))[0], 48, 40, "area",
                        "disabled")
    net = load_upscale_model(models_dir / "upscale_models" / "tiny.safetensors")
    p = {"seed": 0, "cfg": 7.0, "sampler": "ddim", "scheduler": "ddim_uniform",
         "base_ratio": 0.8, "denoise": 0.25, "softness": 0.0, **params}
    prompt = "a green triangle on the right"
    expected = ref.searge_img2img(
        tg.stage(prompt), tg.stage(prompt, "toy-shapes-refiner"), image, tg.toy()[2],
        seed=p["seed"], steps=p["steps"], cfg=p["cfg"], sampler=p["sampler"],
        scheduler=p["scheduler"], base_ratio=p["base_ratio"], denoise=p["denoise"],
        softness=p["softness"], width=p.get("scaled_width", 1536),
        height=p.get("scaled_height", 1536),
        upscaler=(lambda im: upscale_tiled(net, im, 512, 32)) if with_model else None)
    assert max_diff(out, expected) <= TOL
    if p["steps"] < 1:
        assert torch.equal(out, image)


REGIONAL_CASES = [
    ({"steps": 6, "overlap_factor": 4}, "euler", "karras"),
    ({"steps": 6, "overlap_factor": 3, "restore_latent": False}, "euler_ancestral", "karras"),
    ({"steps": 6, "overlap_factor": 4, "legacy": True}, "euler", "simple"),
    ({"steps": 5, "overlap_factor": 0, "legacy": True, "restore_latent": False}, "dpmpp_2m",
     "normal"),
    ({"steps": 5, "overlap_factor": 4, "additional_mode": "ratio between"}, "dpmpp_2m_sde",
     "karras"),
    ({"steps": 4, "overlap_factor": 4, "additional_mode": "ratio additional",
      "additional_sigma_ratio": 0.5}, "dpmpp_sde", "karras"),
    ({"steps": 5, "overlap_factor": 4, "additional_mode": "DISABLE"}, "dpmpp_3m_sde", "normal"),
    ({"steps": 6, "start": 1, "end": 5, "leftover_noise": True, "overlap_factor": 5,
      "additional_mode": "ratio between", "additional_sampler": "heun"}, "dpmpp_2m_sde",
     "karras"),
    ({"steps": 6, "start": 2, "end": 5, "legacy": True, "leftover_noise": True,
      "additional_mode": "ratio additional", "additional_sampler": "dpm_2"}, "dpmpp_2m_sde",
     "normal"),
]


@pytest.mark.parametrize(("params", "sampler", "scheduler"), REGIONAL_CASES)
def test_regional_equals_reference(params: dict[str, Any], sampler: str, scheduler: str) -> None:
    out = run(tg.regional_graph(params, sampler, scheduler))
    base, regions = tg.regional_reference_inputs(sampler, scheduler)
    keys = {"start": "start", "end": "end", "overlap_factor": "overlap",
            "restore_latent": "restore", "leftover_noise": "leftover",
            "additional_mode": "mode", "additional_sampler": "recovery",
            "additional_sigma_ratio": "r", "legacy": "legacy"}
    kw = {keys[k]: v for k, v in params.items() if k in keys}
    expected = ref.regional_sampler({"samples": torch.zeros(1, 4, 8, 8)}, base, regions,
                                    seed=0, steps=params["steps"], **kw)
    assert "noise_mask" not in out
    assert max_diff(out["samples"], expected["samples"]) <= TOL


def test_regional_parallel_order_equals_reference() -> None:
    params = {"steps": 6, "overlap_factor": 4, "order": "parallel", "seed": 5}
    out = run(tg.regional_graph(params, "euler_ancestral"))
    base, regions = tg.regional_reference_inputs("euler_ancestral")
    expected = ref.regional_parallel({"samples": torch.zeros(1, 4, 8, 8)}, base, regions,
                                     seed=5, steps=6, overlap=4)
    assert max_diff(out["samples"], expected["samples"]) <= TOL


def test_legacy_stops_one_sigma_short_and_fixed_does_not() -> None:
    """§8.3 items 1–2: under restore_latent, legacy output stays at σ_{e−1}."""
    fixed = run(tg.regional_graph({"steps": 6, "overlap_factor": 4}, "euler", "simple"))
    legacy = run(tg.regional_graph({"steps": 6, "overlap_factor": 4, "legacy": True},
                                   "euler", "simple"))
    assert max_diff(fixed["samples"], legacy["samples"]) > 1e-3


def test_start_past_end_is_a_validation_error() -> None:
    from graphrt.core.errors import InvalidGraph

    with pytest.raises(InvalidGraph, match="start"):
        Runtime(device="cpu").plan(tg.regional_graph({"steps": 6, "start": 5, "end": 3}))
    # legacy keeps the original's silence
    Runtime(device="cpu").plan(tg.regional_graph({"steps": 6, "start": 5, "end": 3,
                                                  "legacy": True}))


PAIR_CASES = [
    ({"steps": 5, "denoise": 1.0, "overlap_factor": 4}, "euler", "karras"),
    ({"steps": 4, "denoise": 0.6, "overlap_factor": 3}, "dpmpp_2m_sde", "karras"),
    ({"steps": 4, "denoise": 0.5, "overlap_factor": 0, "seed": 9}, "euler_ancestral", "normal"),
]


@pytest.mark.parametrize(("params", "sampler", "scheduler"), PAIR_CASES)
def test_masked_pair_equals_reference(params: dict[str, Any], sampler: str,
                                      scheduler: str) -> None:
    out = run(tg.masked_pair_graph(params, sampler, scheduler))
    base, regions = tg.regional_reference_inputs(sampler, scheduler)
    mask, mask_sampler = regions[0]
    expected = ref.two_samplers_upstream(
        {"samples": torch.zeros(1, 4, 8, 8)}, base, mask_sampler, mask,
        seed=params.get("seed", 0), steps=params["steps"], denoise=params["denoise"],
        overlap=params["overlap_factor"])
    assert max_diff(out["samples"], expected["samples"]) <= TOL
