"""v-prediction checkpoints: CheckpointLoaderSimple reads ComfyUI's marker keys (SDXL base:
`v_pred`, `ztsnr`), ModelSamplingDiscrete(v_prediction) on the ε-file equals the marked file,
and the detected parameterisation is the one under which an exact v-network samples onto the
toy family's closed form."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import k_diffusion.sampling as ks
import pytest
import torch

from graphrt import Runtime
from graphrt.compat.comfy import classes
from graphrt.compat.comfy.classes_patches import PATCH_CLASSES
from graphrt.ops.kernels.model_sampling import zsnr_table
from graphrt.ops.kernels.table import sigma_table
from graphrt.ops.model_sampling import SamplingDiscrete, sampling_discrete
from graphrt.ops.models.real import load_file
from tests.ops.red_circle import red_circle
from tests.ops.vnet import VNet
from tests.real.conftest import TinyModels
from tests.real.tiny import FILES

MARK = torch.tensor([])


@pytest.fixture(scope="module")
def marked(tiny_models: TinyModels) -> dict[str, Path]:
    from safetensors.torch import save_file

    folder = tiny_models.models_dir / "checkpoints"
    out = {}
    for name, family, extra in [("vpred_sdxl", "sdxl", {"v_pred": MARK}),
                                ("ztsnr_sdxl", "sdxl", {"v_pred": MARK, "ztsnr": MARK}),
                                ("vpred_sd15", "sd1", {"v_pred": MARK}),
                                ("cosxl", "sdxl", {"edm_vpred.sigma_max": torch.tensor(120.)})]:
        out[name] = folder / f"{name}.safetensors"
        save_file({**tiny_models.tiny[family].original, **extra}, out[name])
    return out


def test_marker_keys_as_comfyui(tiny_models: TinyModels, marked: dict[str, Path]) -> None:
    eps, _, _ = load_file(tiny_models.path("sdxl"))
    assert eps.prediction == "eps" and eps.table == sigma_table()
    v, _, _ = load_file(marked["vpred_sdxl"])
    assert v.prediction == "v" and v.table == sigma_table()
    z, _, _ = load_file(marked["ztsnr_sdxl"])
    assert z.prediction == "v" and z.table == zsnr_table(sigma_table())
    sd15, _, _ = load_file(marked["vpred_sd15"])  # ComfyUI reads markers on SDXL only
    assert sd15.prediction == "eps"
    with pytest.raises(ValueError, match="EDM v-prediction"):
        load_file(marked["cosxl"])


def test_patch_equals_the_marked_file(tiny_models: TinyModels, marked: dict[str, Path]
                                      ) -> None:
    eps, clip, _ = load_file(tiny_models.path("sdxl"))
    v, _, _ = load_file(marked["ztsnr_sdxl"])
    patched = sampling_discrete(SamplingDiscrete(sampling="v_prediction", zsnr=True), eps)
    context, opts = clip.encode_entry("a cat")
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    sigma = torch.tensor([2.5])
    got = patched.denoise(x, sigma, context, opts["y"])
    # two loads of the same weights: equal up to CPU kernels' float reordering
    torch.testing.assert_close(got, v.denoise(x, sigma, context, opts["y"]), rtol=1e-5,
                               atol=1e-5)
    assert (got - eps.denoise(x, sigma, context, opts["y"])).abs().max() > 1e-2


def test_detected_v_model_samples_onto_the_closed_form(marked: dict[str, Path]) -> None:
    loaded, _, _ = load_file(marked["vpred_sdxl"])
    model = copy.copy(loaded)  # the file's parameterisation with the exact v-network
    case = red_circle(model.sigma_max)
    model.net, model.quantize, model.latent_scale = VNet(case.toy.net), False, 1.0
    cond, x_t = case.cond, case.x_t
    exact = case.flow_end(model.sigma_max)
    sigmas = ks.get_sigmas_karras(40, model.sigma_min, model.sigma_max).double()
    out = ks.sample_euler(lambda x, sigma, **_: model.denoise(x, sigma, cond), x_t, sigmas,
                          disable=True)
    assert (out - exact).abs().max() < 0.03


def test_comfy_prompt_with_model_sampling_and_clip_skip(
        tiny_models: TinyModels, marked: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, cls in PATCH_CLASSES.items():  # what the lead's CLASSES.update will do
        monkeypatch.setitem(classes.CLASSES, name, cls)

    def prompt(ckpt: str, patch: bool) -> dict[str, Any]:
        model = ["9", 0] if patch else ["1", 0]
        return {
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
            "9": {"class_type": "ModelSamplingDiscrete", "inputs": {
                "model": ["1", 0], "sampling": "v_prediction", "zsnr": True}},
            "2": {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["1", 1],
                                                                "stop_at_clip_layer": -2}},
            "4": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 0], "text": "a"}},
            "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64,
                                                               "batch_size": 1}},
            "6": {"class_type": "KSampler", "inputs": {
                "model": model, "positive": ["4", 0], "negative": ["4", 0],
                "latent_image": ["5", 0], "seed": 1, "steps": 2, "cfg": 2.0,
                "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
            "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
            "8": {"class_type": "PreviewImage", "inputs": {"images": ["7", 0]}}}

    rt = Runtime(models_dir=tiny_models.models_dir, output_dir=tmp_path, device="cpu")
    a = rt.run(prompt(FILES["sdxl"], patch=True))
    b = rt.run(prompt(marked["ztsnr_sdxl"].name, patch=False))
    c = rt.run(prompt(FILES["sdxl"], patch=False))
    assert a.ok and b.ok and c.ok, (a.failed, b.failed, c.failed)
    import numpy as np
    from PIL import Image

    def pixels(result: Any) -> Any:
        return np.asarray(Image.open(tmp_path / result.outputs["8"][0]), dtype=np.int16)

    assert np.abs(pixels(a) - pixels(b)).max() <= 1  # equal up to float reordering
    assert np.abs(pixels(a) - pixels(c)).max() > 2
