"""TAESD through model.load_vae and ComfyUI's VAELoader: tiny seeded encoder/decoder files in
TAESD's own key layout (`taesd_decoder`: `1.weight`, `3.conv.0.weight`, …) decode and encode
as a reference written here from the documented architecture does, with the family's latent
scale (SD 1.x 0.18215, SDXL 0.13025) and shift 0; the names are offered only while both files
are in <models>/vae_approx; the key follows both files; missing or foreign files are clear
errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image as PILImage
from safetensors.torch import save_file

from graphrt import Runtime
from graphrt.compat.comfy.object_info import object_info
from graphrt.core.context import OpContext
from graphrt.core.errors import InvalidGraph
from graphrt.core.paths import Folders
from graphrt.library import default_registry
from graphrt.ops.vae import LoadVae, load_vae

# The documented layer lists: (kind, input width, output width, stride, bias); None = latent.
ENCODER = [("conv", 3, None, 1, True), ("block",),
           *[layer for _ in range(3) for layer in
             [("conv", None, None, 2, False), ("block",), ("block",), ("block",)]],
           ("conv", None, "latent", 1, True)]
DECODER = [("clamp",), ("conv", "latent", None, 1, True), ("relu",),
           *[layer for _ in range(3) for layer in
             [("block",), ("block",), ("block",), ("up",), ("conv", None, None, 1, False)]],
           ("block",), ("conv", None, 3, 1, True)]
SCALE = {"taesd": 0.18215, "taesdxl": 0.13025}
WIDTH = {"taesd": 64, "taesdxl": 16}  # TAESD's real width, and a narrower one
SEED = {"taesd": 10, "taesdxl": 20}


def _dim(v: Any, width: int) -> int:
    return width if v is None else 4 if v == "latent" else int(v)


def make_state(layers: list[tuple[Any, ...]], width: int, seed: int) -> dict[str, torch.Tensor]:
    """Seeded random weights for `layers`, keyed as TAESD's files are (index.weight, …)."""
    g = torch.Generator().manual_seed(seed)

    def conv(prefix: str, n_in: int, n_out: int, bias: bool, gain: float = 1.0) -> None:
        std = gain / (9 * n_in) ** 0.5
        state[prefix + "weight"] = torch.randn(n_out, n_in, 3, 3, generator=g) * std
        if bias:  # an image comes out around grey, as a trained decoder's does
            state[prefix + "bias"] = torch.randn(n_out, generator=g) * 0.1 + 0.5 * (n_out == 3)

    state: dict[str, torch.Tensor] = {}
    for i, layer in enumerate(layers):
        if layer[0] == "conv":
            conv(f"{i}.", _dim(layer[1], width), _dim(layer[2], width), layer[4])
        elif layer[0] == "block":
            for j in (0, 2, 4):
                conv(f"{i}.conv.{j}.", width, width, True, gain=0.7)
    return state


def reference(layers: list[tuple[Any, ...]], state: dict[str, torch.Tensor],
              x: torch.Tensor) -> torch.Tensor:
    """Run the layer list with plain torch functions over the state dict's tensors."""

    def conv(prefix: str, h: torch.Tensor, stride: int = 1) -> torch.Tensor:
        return F.conv2d(h, state[prefix + "weight"], state.get(prefix + "bias"), stride=stride,
                        padding=1)

    for i, layer in enumerate(layers):
        kind = layer[0]
        if kind == "clamp":
            x = 3.0 * torch.tanh(x / 3.0)
        elif kind == "relu":
            x = F.relu(x)
        elif kind == "up":
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        elif kind == "conv":
            x = conv(f"{i}.", x, layer[3])
        else:
            h = F.relu(conv(f"{i}.conv.0.", x))
            h = F.relu(conv(f"{i}.conv.2.", h))
            x = F.relu(conv(f"{i}.conv.4.", h) + x)
    return x


def ref_decode(name: str, dec: dict[str, torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """ComfyUI's TAESD decode: D((z − shift)·scale) mapped to [−1,1], then VAE output maths."""
    x = (reference(DECODER, dec, (z - 0.0) * SCALE[name]) - 0.5) * 2.0
    return ((x + 1.0) / 2.0).clamp(0.0, 1.0).movedim(1, -1)


def ref_encode(name: str, enc: dict[str, torch.Tensor], image: torch.Tensor) -> torch.Tensor:
    """Crop centred to multiples of 8, [0,1] → [−1,1] → [0,1], E(x) / scale + shift."""
    h, w = image.shape[1] // 8 * 8, image.shape[2] // 8 * 8
    top, left = (image.shape[1] % 8) // 2, (image.shape[2] % 8) // 2
    x = image[:, top:top + h, left:left + w].movedim(-1, 1) * 2.0 - 1.0
    return reference(ENCODER, enc, x * 0.5 + 0.5) / SCALE[name] + 0.0


def write_pair(folder: Path, name: str, seed: int | None = None) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    s = SEED[name] if seed is None else seed
    pair = {"encoder": make_state(ENCODER, WIDTH[name], s),
            "decoder": make_state(DECODER, WIDTH[name], s + 1)}
    for part, state in pair.items():
        save_file(state, folder / f"{name}_{part}.safetensors")
    return pair


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("taesd") / "models"
    return root, {name: write_pair(root / "vae_approx", name) for name in SCALE}


def ctx(root: Path) -> OpContext:
    return OpContext.detached(folders=Folders(root, root, root / "out"))


def test_the_files_have_taesds_key_layout(models: tuple[Path, dict[str, Any]]) -> None:
    dec, enc = models[1]["taesd"]["decoder"], models[1]["taesd"]["encoder"]
    assert {"1.weight", "1.bias", "3.conv.0.weight", "3.conv.4.bias", "7.weight",
            "18.conv.2.weight", "19.weight", "19.bias"} <= set(dec) and "7.bias" not in dec
    assert {"0.weight", "1.conv.0.weight", "2.weight", "14.weight"} <= set(enc)
    assert "2.bias" not in enc and tuple(dec["1.weight"].shape) == (64, 4, 3, 3)


@pytest.mark.parametrize("name", list(SCALE))
def test_decode_equals_the_reference(models: tuple[Path, dict[str, Any]], name: str) -> None:
    root, pairs = models
    vae = load_vae(LoadVae(name=name), ctx=ctx(root))
    z = torch.randn(2, 4, 8, 6, generator=torch.Generator().manual_seed(5)) * 4.0
    image = vae.decode(z)
    expected = ref_decode(name, pairs[name]["decoder"], z)
    assert image.shape == (2, 64, 48, 3) and vae.downscale == 8 and vae.latent_channels == 4
    torch.testing.assert_close(image, expected, atol=2e-5, rtol=1e-5)
    inside = ((image > 0.01) & (image < 0.99)).float().mean()
    assert inside > 0.5  # not saturated: the comparison means something
    other = "taesdxl" if name == "taesd" else "taesd"  # the scale matters
    unscaled = ref_decode(other, pairs[name]["decoder"], z)
    assert (unscaled - image).abs().max() > 1e-2


@pytest.mark.parametrize("name", list(SCALE))
def test_encode_equals_the_reference(models: tuple[Path, dict[str, Any]], name: str) -> None:
    root, pairs = models
    vae = load_vae(LoadVae(name=name), ctx=ctx(root))
    image = torch.rand(2, 68, 77, 3, generator=torch.Generator().manual_seed(6))
    before = image.clone()
    z = vae.encode(image)
    assert z.shape == (2, 4, 8, 9) and z.dtype == torch.float32
    torch.testing.assert_close(z, ref_encode(name, pairs[name]["encoder"], image),
                               atol=1e-4, rtol=1e-5)
    assert torch.equal(image, before)


def _png(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.asarray(PILImage.open(path).convert("RGB"), dtype=np.float32))


@pytest.mark.parametrize("name", list(SCALE))
def test_vae_loader_prompt_round_trip(models: tuple[Path, dict[str, Any]], tmp_path: Path,
                                      name: str) -> None:
    root, pairs = models
    inputs = tmp_path / "in"
    inputs.mkdir()
    pixels = np.random.default_rng(7).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    PILImage.fromarray(pixels).save(inputs / "photo.png")
    prompt = {
        "1": {"class_type": "VAELoader", "inputs": {"vae_name": name}},
        "2": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}},
        "3": {"class_type": "VAEEncode", "inputs": {"pixels": ["2", 0], "vae": ["1", 0]}},
        "4": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["1", 0]}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0],
                                                    "filename_prefix": name}}}
    rt = Runtime(models_dir=root, input_dir=inputs, output_dir=tmp_path / "out", device="cpu")
    result = rt.run(prompt)
    assert result.ok, result.failed
    (saved,) = sorted((tmp_path / "out").glob(f"{name}*.png"))
    image = torch.from_numpy(pixels.astype(np.float32) / 255.0)[None]
    z = ref_encode(name, pairs[name]["encoder"], image)
    expected = torch.floor((ref_decode(name, pairs[name]["decoder"], z) * 255.0).clamp(0, 255))
    assert (_png(saved) - expected[0]).abs().max() <= 1.0


def _choices(root: Path) -> list[str]:
    info = object_info(default_registry(), Folders(root, root, root / "out"), only="VAELoader")
    options: list[str] = info["VAELoader"]["input"]["required"]["vae_name"][0]
    return options


def test_object_info_lists_taesd_only_with_both_files(models: tuple[Path, dict[str, Any]],
                                                      tmp_path: Path) -> None:
    assert {"taesd", "taesdxl"} <= set(_choices(models[0]))
    root = tmp_path / "models"
    assert "taesd" not in _choices(root)  # no vae_approx folder
    approx = root / "vae_approx"
    approx.mkdir(parents=True)
    shutil.copy(models[0] / "vae_approx" / "taesd_encoder.safetensors", approx)
    shutil.copy(models[0] / "vae_approx" / "taesdxl_decoder.safetensors", approx)
    (approx / "taesd_decoder.txt").write_text("not a model")
    choices = _choices(root)
    assert "taesd" not in choices and "taesdxl" not in choices
    shutil.copy(models[0] / "vae_approx" / "taesd_decoder.safetensors", approx)
    choices = _choices(root)
    assert "taesd" in choices and "taesdxl" not in choices
    assert not any(c.startswith("taesd_") for c in choices)  # the parts are not VAEs


def test_missing_decoder_is_a_clear_error(models: tuple[Path, dict[str, Any]],
                                          tmp_path: Path) -> None:
    root = tmp_path / "models"
    (root / "vae_approx").mkdir(parents=True)
    shutil.copy(models[0] / "vae_approx" / "taesdxl_encoder.safetensors", root / "vae_approx")
    with pytest.raises(FileNotFoundError, match=r"taesdxl_decoder\.\*.*<models>/vae_approx"):
        load_vae(LoadVae(name="taesdxl"), ctx=ctx(root))
    rt = Runtime(models_dir=root, output_dir=tmp_path / "out", device="cpu")
    prompt = {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "taesdxl"}},
              "2": {"class_type": "EmptyLatentImage",
                    "inputs": {"width": 64, "height": 64, "batch_size": 1}},
              "3": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0],
                                                          "vae": ["1", 0]}},
              "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0],
                                                          "filename_prefix": "x"}}}
    with pytest.raises(InvalidGraph, match="taesdxl_decoder"):
        rt.run(prompt)


def test_foreign_files_are_refused_by_name(models: tuple[Path, dict[str, Any]],
                                           tmp_path: Path) -> None:
    root = tmp_path / "models"
    approx = root / "vae_approx"
    approx.mkdir(parents=True)
    shutil.copy(models[0] / "vae_approx" / "taesd_encoder.safetensors", approx)
    dec = dict(models[1]["taesd"]["decoder"])
    dec["19.extra"] = torch.zeros(1)
    save_file(dec, approx / "taesd_decoder.safetensors")
    with pytest.raises(ValueError, match=r"taesd_decoder\.safetensors.*unexpected '19\.extra'"):
        load_vae(LoadVae(name="taesd"), ctx=ctx(root))
    dec.pop("19.extra")
    dec.pop("7.weight")
    save_file(dec, approx / "taesd_decoder.safetensors")
    with pytest.raises(ValueError, match=r"missing '7\.weight'"):
        load_vae(LoadVae(name="taesd"), ctx=ctx(root))
    save_file(models[1]["taesdxl"]["encoder"], approx / "taesd_decoder.safetensors")
    with pytest.raises(ValueError, match="not a TAESD decoder"):
        load_vae(LoadVae(name="taesd"), ctx=ctx(root))


def test_a_pickled_pair_loads_weights_only(models: tuple[Path, dict[str, Any]],
                                           tmp_path: Path) -> None:
    root = tmp_path / "models"
    (root / "vae_approx").mkdir(parents=True)
    for part, state in models[1]["taesdxl"].items():
        torch.save(state, root / "vae_approx" / f"taesdxl_{part}.pth")
    z = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(8))
    pickled = load_vae(LoadVae(name="taesdxl"), ctx=ctx(root))
    assert torch.equal(pickled.decode(z),
                       load_vae(LoadVae(name="taesdxl"), ctx=ctx(models[0])).decode(z))


def test_the_key_follows_both_files(models: tuple[Path, dict[str, Any]],
                                    tmp_path: Path) -> None:
    root = tmp_path / "models"
    shutil.copytree(models[0] / "vae_approx", root / "vae_approx")
    doc = {"format": "graphrt/1", "nodes": {
        "vae": {"op": "model.load_vae", "params": {"name": "taesd", "hash_file": True}},
        "empty": {"op": "latent.empty", "params": {"width": 32, "height": 32}},
        "image": {"op": "latent.decode", "in": {"vae": "vae.out", "latent": "empty.out"}}},
        "outputs": {"image": "image.out"}}
    rt = Runtime(models_dir=root, output_dir=tmp_path / "out", device="cpu")
    first = rt.run(doc)
    assert first.ok and set(first.executed) == {"empty", "image", "vae"}
    assert "vae" in rt.run(doc).cached
    keys = [rt.prepare(doc).keys["vae"]]
    for part, seed in (("decoder", 31), ("encoder", 32)):
        pair = {"encoder": make_state(ENCODER, 64, seed), "decoder": make_state(DECODER, 64, seed)}
        save_file(pair[part], root / "vae_approx" / f"taesd_{part}.safetensors")
        keys.append(rt.prepare(doc).keys["vae"])
    assert len(set(keys)) == 3
    again = rt.run(doc)
    assert again.ok and "vae" in again.executed
    expected = ref_decode("taesd", make_state(DECODER, 64, 31), torch.zeros(1, 4, 4, 4))
    torch.testing.assert_close(again.outputs["image"], expected, atol=2e-5, rtol=1e-5)
