"""model.load_vae / VAELoader: a separate VAE file decodes like the checkpoint's own VAE when
it holds the same weights (bare keys, `first_stage_model.` keys, a weights-only pickle), and
differently when it holds others; strictness and ComfyUI's class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from graphrt import Runtime
from graphrt.compat.comfy import classes
from graphrt.compat.comfy.classes_patches import PATCH_CLASSES
from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.core.values import content_digest
from graphrt.ops.models.real import load_file
from graphrt.ops.vae import LoadVae, load_vae
from tests.real.conftest import TinyModels
from tests.real.tiny import FILES, build_tiny

PREFIX = "first_stage_model."


def vae_keys(state: dict[str, torch.Tensor], keep_prefix: bool) -> dict[str, torch.Tensor]:
    return {(k if keep_prefix else k[len(PREFIX):]): v.clone() for k, v in state.items()
            if k.startswith(PREFIX)}


@pytest.fixture(scope="module")
def vaes(tiny_models: TinyModels) -> Path:
    from safetensors.torch import save_file

    folder = tiny_models.models_dir / "vae"
    folder.mkdir(exist_ok=True)
    own = tiny_models.tiny["sdxl"].original
    save_file(vae_keys(own, False), folder / "same_bare.safetensors")
    save_file({**vae_keys(own, True), "model_ema.decay": torch.tensor(0.9)},
              folder / "same_prefixed.safetensors")
    torch.save(vae_keys(own, False), folder / "same.pt")
    save_file(vae_keys(build_tiny("sdxl", 11).original, False), folder / "other.safetensors")
    extra = {**vae_keys(own, False), "decoder.extra.weight": torch.zeros(2)}
    save_file(extra, folder / "extra.safetensors")
    return folder


def ctx(tiny: TinyModels) -> OpContext:
    m = tiny.models_dir
    return OpContext.detached(folders=Folders(m, m, m / "out"))


def latents() -> torch.Tensor:
    return torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("name", ["same_bare.safetensors", "same_prefixed.safetensors",
                                  "same.pt"])
def test_same_weights_decode_as_the_checkpoint_vae(tiny_models: TinyModels, vaes: Path,
                                                   name: str) -> None:
    _, _, own = load_file(tiny_models.path("sdxl"))
    vae = load_vae(LoadVae(name=name), ctx=ctx(tiny_models))
    z = latents()
    before = content_digest(z)
    assert torch.equal(vae.decode(z), own.decode(z))
    image = own.decode(z)
    assert torch.equal(vae.encode(image), own.encode(image))
    assert content_digest(z) == before
    assert vae.vae is not own.vae


def test_other_weights_decode_differently(tiny_models: TinyModels, vaes: Path) -> None:
    _, _, own = load_file(tiny_models.path("sdxl"))
    vae = load_vae(LoadVae(name="other.safetensors"), ctx=ctx(tiny_models))
    z = latents()
    assert (vae.decode(z) - own.decode(z)).abs().max() > 1e-3


def test_strict_and_clear_errors(tiny_models: TinyModels, vaes: Path) -> None:
    with pytest.raises(ValueError, match="decoder.extra.weight"):
        load_vae(LoadVae(name="extra.safetensors"), ctx=ctx(tiny_models))
    with pytest.raises(FileNotFoundError, match="no VAE"):
        load_vae(LoadVae(name="absent.safetensors"), ctx=ctx(tiny_models))
    ckpt = vaes / "not_a_vae.safetensors"
    from safetensors.torch import save_file

    save_file({"model.diffusion_model.x": torch.zeros(1)}, ckpt)
    with pytest.raises(ValueError, match="not a VAE"):
        load_vae(LoadVae(name=ckpt.name), ctx=ctx(tiny_models))


def test_malicious_pickle_is_refused(tiny_models: TinyModels, vaes: Path, tmp_path: Path
                                     ) -> None:
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self) -> Any:
            return (Path.touch, (marker,))

    torch.save({"decoder.conv_in.weight": Evil()}, vaes / "evil.pt")
    with pytest.raises(Exception, match="(?i)weights.only|unsupported|global"):
        load_vae(LoadVae(name="evil.pt"), ctx=ctx(tiny_models))
    assert not marker.exists()


def test_toy_names_give_the_toy_vae(tmp_path: Path) -> None:
    from graphrt.ops.models.toy import ToyVae

    c = OpContext.detached(folders=Folders(tmp_path, tmp_path, tmp_path / "out"))
    assert isinstance(load_vae(LoadVae(name="toy-shapes"), ctx=c), ToyVae)


def test_vae_loader_prompt(tiny_models: TinyModels, vaes: Path, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name, cls in PATCH_CLASSES.items():  # what the lead's CLASSES.update will do
        monkeypatch.setitem(classes.CLASSES, name, cls)

    def prompt(vae: list[Any]) -> dict[str, Any]:
        return {
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": FILES["sd1"]}},
            "2": {"class_type": "VAELoader", "inputs": {"vae_name": "other.safetensors"}},
            "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64,
                                                               "batch_size": 1}},
            "4": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": vae}},
            "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0],
                                                        "filename_prefix": "vae"}}}

    rt = Runtime(models_dir=tiny_models.models_dir, output_dir=tmp_path, device="cpu")
    for vae in (["2", 0], ["1", 2]):
        result = rt.run(prompt(vae))
        assert result.ok, result.failed
    images = sorted(tmp_path.glob("*.png"))
    assert len(images) == 2 and images[0].read_bytes() != images[1].read_bytes()
