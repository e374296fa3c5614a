"""LoRA on the tiny real-layout SD 1.x / SDXL checkpoints: kohya (with LoCon conv layers and
SDXL's LDM UNet names) and diffusers/PEFT layouts, against W + strength·scale·(up @ down)
computed here; sharing and purity; stacking; unmatched keys; pickles; toy models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

import graphrt.ops.lora as L
from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.core.values import content_digest
from graphrt.ops.models.lora.keys import LoraKeyError
from graphrt.ops.models.real import load_file
from tests.real.conftest import TinyModels
from tests.real.loras import Entry, LoraFile, entry, kohya, peft

UNET = {"sd1": [("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", 4, 2.0),
                ("down_blocks.0.attentions.0.proj_in", 2, None),  # 1×1 conv
                ("down_blocks.0.resnets.0.conv1", 3, 1.5)],  # LoCon 3×3
        "sdxl": [("down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k", 4, 2.0),
                 ("up_blocks.0.resnets.1.conv2", 2, 1.0),  # LoCon
                 ("mid_block.attentions.0.proj_out", 3, None)]}
TEXT = {"sd1": [("clip_l", "text_model.encoder.layers.0.self_attn.q_proj", 4, 4.0),
                ("clip_l", "text_model.encoder.layers.2.mlp.fc1", 2, 1.0)],
        "sdxl": [("clip_l", "text_model.encoder.layers.1.self_attn.v_proj", 2, 1.0),
                 ("clip_g", "text_model.encoder.layers.2.self_attn.out_proj", 4, 8.0),
                 ("clip_g", "text_projection", 2, None)]}


def modules(model: Any, clip: Any) -> dict[str, torch.nn.Module]:
    out = {"unet": model.net.unet, "clip_l": clip.clip_l, "clip_g": clip.clip_g}
    return {k: v for k, v in out.items() if v is not None}


def sub(module: torch.nn.Module, name: str) -> Any:
    """A layer by its LoRA-file name (transformers 5's CLIPTextModel has no text_model.)."""
    if not hasattr(module, "text_model") and name.startswith("text_model."):
        name = name[len("text_model."):]
    return module.get_submodule(name)


def weight(mods: dict[str, torch.nn.Module], e: Entry) -> torch.Tensor:
    return sub(mods[e.component], e.name).weight


class Loras:
    def __init__(self, tiny: TinyModels) -> None:
        self.folder = tiny.models_dir / "loras"
        self.folder.mkdir(exist_ok=True)
        self.tiny, self.files = tiny, {}
        self.base = {f: load_file(tiny.path(f)) for f in ("sd1", "sdxl")}

    def write(self, name: str, lora: LoraFile) -> str:
        from safetensors.torch import save_file

        save_file(lora.state, self.folder / name)
        self.files[name] = lora
        return name

    def entries(self, family: str, seed: int, unet: list[Any], text: list[Any]) -> list[Entry]:
        gen = torch.Generator().manual_seed(seed)
        mods = modules(*self.base[family][:2])
        out = [entry("unet", n, sub(mods["unet"], n).weight, r, a, gen) for n, r, a in unet]
        out += [entry(c, n, sub(mods[c], n).weight, r, a, gen) for c, n, r, a in text]
        return out


@pytest.fixture(scope="module")
def loras(tiny_models: TinyModels) -> Loras:
    lo = Loras(tiny_models)
    sdxl_config = tiny_models.tiny["sdxl"].configs["unet"]
    lo.write("sd1_kohya.safetensors", kohya(lo.entries("sd1", 1, UNET["sd1"], TEXT["sd1"]),
                                            sdxl=False))
    lo.write("sdxl_kohya.safetensors", kohya(lo.entries("sdxl", 2, UNET["sdxl"],
                                                        TEXT["sdxl"]), True, sdxl_config))
    lo.write("sd1_peft.safetensors", peft(lo.entries("sd1", 3, UNET["sd1"][:1],
                                                     TEXT["sd1"][1:])))
    lo.write("sdxl_peft.safetensors", peft(lo.entries("sdxl", 4, [
        ("down_blocks.1.attentions.0.transformer_blocks.0.ff.net.2", 2, 1.0)], [
        ("clip_l", "text_model.encoder.layers.0.self_attn.k_proj", 2, None),
        ("clip_g", "text_model.encoder.layers.1.mlp.fc2", 3, 1.5)])))
    # overlaps sd1_kohya on to_q: for stacking
    lo.write("sd1_b.safetensors", kohya(lo.entries("sd1", 5, UNET["sd1"][:1],
                                                   TEXT["sd1"][:1]), sdxl=False))
    return lo


def ctx(loras: Loras) -> OpContext:
    models = loras.tiny.models_dir
    return OpContext.detached(folders=Folders(models, models, models / "out"))


def apply(loras: Loras, name: str, model: Any, clip: Any, sm: float, sc: float
          ) -> tuple[Any, Any]:
    c = ctx(loras)
    return (L.lora_model_only(L.LoraModel(name=name, strength_model=sm), model, ctx=c),
            L.lora_clip(L.LoraClip(name=name, strength_clip=sc), clip, ctx=c))


CASES = [("sd1", "sd1_kohya.safetensors"), ("sdxl", "sdxl_kohya.safetensors"),
         ("sd1", "sd1_peft.safetensors"), ("sdxl", "sdxl_peft.safetensors")]


@pytest.mark.parametrize(("family", "name"), CASES, ids=[n for _, n in CASES])
def test_patched_weights_equal_the_reference(loras: Loras, family: str, name: str) -> None:
    model, clip, _vae = loras.base[family]
    before = content_digest([model, clip])
    new_model, new_clip = apply(loras, name, model, clip, 0.7, -1.3)
    assert content_digest([model, clip]) == before  # inputs untouched
    base, patched = modules(model, clip), modules(new_model, new_clip)
    lora = loras.files[name]
    assert {e.component for e in lora.entries} >= ({"unet", "clip_l", "clip_g"} & set(base))
    for e in lora.entries:
        strength = 0.7 if e.component == "unet" else -1.3
        expected = e.expected(weight(base, e), strength)
        torch.testing.assert_close(weight(patched, e), expected, rtol=1e-5, atol=1e-6)
        assert not torch.equal(weight(patched, e), weight(base, e))
    for component, module in base.items():  # every other parameter is the base's own object
        targets = {e.name.removeprefix("" if hasattr(module, "text_model") else "text_model.")
                   + ".weight" for e in lora.entries if e.component == component}
        mine = dict(module.named_parameters())
        for pname, param in patched[component].named_parameters():
            assert (param is mine[pname]) == (pname not in targets), pname


def test_strength_zero_returns_the_input_itself(loras: Loras) -> None:
    model, clip, _ = loras.base["sd1"]
    new_model, new_clip = apply(loras, "sd1_kohya.safetensors", model, clip, 0.0, 0.0)
    assert new_model is model and new_clip is clip
    new_model, new_clip = apply(loras, "sd1_kohya.safetensors", model, clip, 0.0, 1.0)
    assert new_model is model and new_clip is not clip


def test_stacking_order_and_strengths(loras: Loras) -> None:
    model, clip, _ = loras.base["sd1"]
    a, b = loras.files["sd1_kohya.safetensors"], loras.files["sd1_b.safetensors"]
    m1, c1 = apply(loras, "sd1_kohya.safetensors", model, clip, 0.8, 0.5)
    m12, c12 = apply(loras, "sd1_b.safetensors", m1, c1, -0.6, 2.0)
    m2, c2 = apply(loras, "sd1_b.safetensors", model, clip, -0.6, 2.0)
    m21, c21 = apply(loras, "sd1_kohya.safetensors", m2, c2, 0.8, 0.5)
    base = modules(model, clip)
    for stacked in (modules(m12, c12), modules(m21, c21)):
        for e in a.entries:
            shared = next((f for f in b.entries if f.name == e.name), None)
            s_a = 0.8 if e.component == "unet" else 0.5
            want = e.expected(weight(base, e), s_a)
            if shared is not None:
                s_b = -0.6 if e.component == "unet" else 2.0
                want = shared.expected(want, s_b)
            torch.testing.assert_close(weight(stacked, e), want, rtol=1e-5, atol=1e-5)
    assert weight(modules(m1, c1), a.entries[0]) is not \
        weight(modules(m12, c12), a.entries[0])  # m1 untouched
    torch.testing.assert_close(weight(modules(m1, c1), a.entries[0]),
                               a.entries[0].expected(weight(base, a.entries[0]), 0.8))
    half, _ = apply(loras, "sd1_kohya.safetensors", model, clip, 0.5, 0.0)
    twice, _ = apply(loras, "sd1_kohya.safetensors", half, clip, 0.5, 0.0)
    once, _ = apply(loras, "sd1_kohya.safetensors", model, clip, 1.0, 0.0)
    for e in a.entries[:3]:
        torch.testing.assert_close(weight(modules(twice, clip), e),
                                   weight(modules(once, clip), e), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("key", "message"), [
    ("lora_unet_down_blocks_0_not_a_layer", "lora_unet_down_blocks_0_not_a_layer"),
    ("lora_te2_text_model_encoder_layers_0_mlp_fc1", "CLIP-bigG"),
    ("unet.down_blocks.9.attentions.0.proj_in", "unet.down_blocks.9.attentions.0.proj_in"),
])
def test_unmatched_keys_are_errors_naming_them(loras: Loras, key: str, message: str) -> None:
    model, clip, _ = loras.base["sd1"]
    state = dict(loras.files["sd1_kohya.safetensors"].state)
    suffixes = (".lora_A.weight", ".lora_B.weight") if key.startswith("unet.") else \
        (".lora_down.weight", ".lora_up.weight")
    state[key + suffixes[0]] = torch.zeros(2, 64)
    state[key + suffixes[1]] = torch.zeros(64, 2)
    name = loras.write(f"bad_{abs(hash(key))}.safetensors", LoraFile([], state))
    with pytest.raises(LoraKeyError, match=message) as err:
        apply(loras, name, model, clip, 1.0, 1.0)
    assert key in str(err.value) and name in str(err.value)


def test_unsupported_parts_are_named(loras: Loras) -> None:
    state = {"lora_unet_conv_in.hada_w1_a": torch.zeros(2, 2)}
    name = loras.write("loha.safetensors", LoraFile([], state))
    model, clip, _ = loras.base["sd1"]
    with pytest.raises(LoraKeyError, match="lora_unet_conv_in.hada_w1_a"):
        apply(loras, name, model, clip, 1.0, 0.0)


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.mkdir, (str(self.marker),))  # creates the marker when unpickled


def test_pickles_load_only_with_weights_only(loras: Loras, tmp_path: Path) -> None:
    model, clip, _ = loras.base["sd1"]
    lora = loras.files["sd1_kohya.safetensors"]
    torch.save(lora.state, loras.folder / "sd1_kohya.pt")
    from_pickle, _ = apply(loras, "sd1_kohya.pt", model, clip, 0.7, 0.0)
    from_st, _ = apply(loras, "sd1_kohya.safetensors", model, clip, 0.7, 0.0)
    e = lora.entries[0]
    assert torch.equal(weight(modules(from_pickle, clip), e), weight(modules(from_st, clip), e))

    marker = tmp_path / "pwned"
    torch.save({"lora_unet_conv_in.lora_down.weight": Evil(marker)}, loras.folder / "evil.ckpt")
    with pytest.raises(ValueError, match="refused to load") as err:
        apply(loras, "evil.ckpt", model, clip, 1.0, 1.0)
    assert "evil.ckpt" in str(err.value)
    assert not marker.exists()
    # the file is a real threat: an unrestricted unpickler runs it
    other = tmp_path / "proof"
    torch.save({"x": Evil(other)}, tmp_path / "proof.pt")
    torch.load(tmp_path / "proof.pt", weights_only=False)
    assert other.exists()


def test_toy_models_pass_only_at_strength_zero(loras: Loras) -> None:
    from graphrt.ops.models.toy import load_toy

    model, clip, _ = load_toy("toy-shapes")
    c = ctx(loras)
    assert L.lora_model_only(L.LoraModel(name="x.safetensors", strength_model=0.0), model,
                             ctx=c) is model
    with pytest.raises(ValueError, match="toy model"):
        L.lora_model_only(L.LoraModel(name="sd1_kohya.safetensors"), model, ctx=c)
    with pytest.raises(ValueError, match="toy model"):
        L.lora_clip(L.LoraClip(name="sd1_kohya.safetensors"), clip, ctx=c)
