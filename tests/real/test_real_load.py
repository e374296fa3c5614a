"""Loading tiny real-layout checkpoints: exact round trip, strictness, family detection, and
full-size configs derived from shapes alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from graphrt import Runtime
from graphrt.ops.models.real import UnknownLayout, detect_family
from graphrt.ops.models.real import load_file as load_real
from graphrt.ops.models.real.configs import KNOWN, derive
from tests.real.conftest import TinyModels
from tests.real.tiny import FILES, make_modules, to_original

FAMILIES = ["sd1", "sdxl", "sdxl_refiner"]


def _load_graph(name: str) -> dict:
    return {"nodes": {"ckpt": {"op": "model.load_checkpoint", "params": {"name": name}}},
            "outputs": {"model": "ckpt.model", "clip": "ckpt.clip", "vae": "ckpt.vae"}}


@pytest.mark.parametrize("family", FAMILIES)
def test_round_trip_every_tensor_equal(tiny_models: TinyModels, family: str) -> None:
    out = Runtime(models_dir=tiny_models.models_dir, device="cpu").run(
        _load_graph(FILES[family])).outputs
    loaded = {"unet": out["model"].net.unet, "vae": out["vae"].vae,
              "clip_l": out["clip"].clip_l, "clip_g": out["clip"].clip_g}
    ref = tiny_models.tiny[family].modules
    assert {k for k, v in loaded.items() if v is not None} == set(ref)
    for name, module in ref.items():
        want, got = module.state_dict(), loaded[name].state_dict()
        assert set(want) == set(got), name
        for key, value in want.items():
            assert torch.equal(value, got[key]), f"{name}.{key}"
    assert out["model"].latent_scale == (0.18215 if family == "sd1" else 0.13025)


def _broken(tmp_path: Path, tiny_models: TinyModels, family: str, edit: dict) -> Path:
    state = load_file(tiny_models.path(family))
    for old, new in edit.items():
        value = state.pop(old)
        if new is not None:
            state[new] = value
    path = tmp_path / "broken.safetensors"
    save_file(state, path)
    return path


U = "model.diffusion_model."
CASES = [
    ("sd1", {U + "input_blocks.1.0.in_layers.0.weight": None},
     [U + "input_blocks.1.0.in_layers.0.weight"]),
    ("sd1", {U + "time_embed.0.weight": U + "time_embedx.0.weight"},
     [U + "time_embed.0.weight", U + "time_embedx.0.weight"]),
    ("sd1", {U + "output_blocks.2.1.transformer_blocks.0.attn2.to_k.weight":
             U + "output_blocks.2.1.transformer_blocks.0.attn2.to_kk.weight"},
     [U + "output_blocks.2.1.transformer_blocks.0.attn2.to_kk.weight",
      U + "output_blocks.2.1.transformer_blocks.0.attn2.to_k.weight"]),
    ("sdxl", {"first_stage_model.decoder.mid.attn_1.q.bias": None},
     ["first_stage_model.decoder.mid.attn_1.q.bias"]),
    ("sdxl", {"conditioner.embedders.0.transformer.text_model.encoder.layers.1.mlp.fc2.weight":
              "conditioner.embedders.0.transformer.text_model.encoder.layers.1.mlp.fc3.weight"},
     ["conditioner.embedders.0.transformer.text_model.encoder.layers.1.mlp.fc3.weight"]),
    ("sdxl_refiner", {"conditioner.embedders.0.model.ln_final.bias": None},
     ["conditioner.embedders.0.model.ln_final.bias"]),
    ("sdxl_refiner", {U + "label_emb.0.2.bias": U + "label_emb.0.3.bias"},
     [U + "label_emb.0.2.bias", U + "label_emb.0.3.bias"]),
]


@pytest.mark.parametrize(("family", "edit", "named"), CASES)
def test_missing_or_renamed_key_is_named(tmp_path: Path, tiny_models: TinyModels, family: str,
                                         edit: dict, named: list[str]) -> None:
    path = _broken(tmp_path, tiny_models, family, edit)
    with pytest.raises(ValueError) as err:
        load_real(path)
    for key in named:
        assert repr(key) in str(err.value), str(err.value)


def test_pickles_load_with_weights_only(tmp_path: Path, tiny_models: TinyModels) -> None:
    state = load_file(tiny_models.path("sd1"))
    torch.save({"state_dict": state}, tmp_path / "tiny.ckpt")
    model, _clip, _vae = load_real(tmp_path / "tiny.ckpt")
    want = tiny_models.tiny["sd1"].modules["unet"].state_dict()
    got = model.net.unet.state_dict()
    assert all(torch.equal(want[k], got[k]) for k in want)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_detected_from_keys(tiny_models: TinyModels, family: str) -> None:
    assert detect_family(tiny_models.tiny[family].original).name == family


@pytest.mark.parametrize(("keys", "message"), [
    (["model.diffusion_model.x", "first_stage_model.x", "cond_stage_model.model.x"], "SD 2.x"),
    (["model.diffusion_model.x", "first_stage_model.x"], "unknown text-encoder layout"),
    (["encoder.conv_in.weight"], "not an SD/SDXL single-file checkpoint"),
])
def test_unknown_layout_is_a_clear_error(keys: list[str], message: str) -> None:
    with pytest.raises(UnknownLayout, match=message):
        detect_family(keys)


PARAMS = {"sd1": 859_520_964, "sdxl": 2_567_463_684, "sdxl_refiner": 2_259_526_660}


@pytest.mark.parametrize("family", FAMILIES)
def test_full_size_configs_from_shapes_only(family: str) -> None:
    """Full-size models on the meta device → original-layout shapes → derived configs equal
    diffusers' published SD 1.5 / SDXL base / refiner configs (860 M / 2.57 B / 2.26 B)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    known = KNOWN[family]
    shapes = {k: tuple(v.shape) for k, v in
              to_original(family, make_modules(family, known, "meta"), known).items()}
    fam = detect_family(shapes)
    derived = derive(shapes, fam)
    assert set(derived) == set(known)
    for component, config in known.items():
        assert {k: derived[component][k] for k in config} == config, component
    with torch.device("meta"):
        pairs = [(UNet2DConditionModel(**derived["unet"]), UNet2DConditionModel(**known["unet"])),
                 (AutoencoderKL(**derived["vae"]), AutoencoderKL(**known["vae"]))]
    for ours, theirs in pairs:
        assert ({k: v for k, v in ours.config.items() if not k.startswith("_")}
                == {k: v for k, v in theirs.config.items() if not k.startswith("_")})
    assert sum(p.numel() for p in pairs[0][0].parameters()) == PARAMS[family]
