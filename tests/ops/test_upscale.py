"""Upscale models: a tiny ESRGAN written as a file, loaded through spandrel, run tiled."""

from pathlib import Path

import pytest
import torch

from graphrt import Runtime
from tests.ops.samples import write_tiny_esrgan


@pytest.fixture()
def tiny_esrgan(tmp_path: Path) -> Path:
    write_tiny_esrgan(tmp_path / "models" / "upscale_models", pickle=True)
    return tmp_path / "models"


def upscale_graph(name: str, tile: int) -> dict:
    return {"nodes": {
        "up": {"op": "model.load_upscaler", "params": {"name": name}},
        "img": {"op": "image.load", "params": {"name": "example.png"}},
        "small": {"op": "image.scale", "in": {"image": "img.image"},
                  "params": {"width": 96, "height": 80, "method": "area"}},
        "big": {"op": "image.upscale_with_model", "in": {"upscale_model": "up.out",
                                                         "image": "small.out"},
                "params": {"tile": tile, "overlap": 16}},
    }, "outputs": {"big": "big.out"}}


def test_upscale_through_graph_tiled_equals_whole(tiny_esrgan: Path) -> None:
    rt = Runtime(models_dir=tiny_esrgan, device="cpu")
    whole = rt.run(upscale_graph("tiny.safetensors", 512)).outputs["big"]
    tiled = rt.run(upscale_graph("tiny.safetensors", 64)).outputs["big"]
    assert whole.shape == (1, 160, 192, 3)
    assert float(whole.min()) >= 0 and float(whole.max()) <= 1
    # feathered tiles agree with the single pass away from the borders of the receptive field
    assert (whole - tiled).abs().mean() < 0.02
    via_pickle = rt.run(upscale_graph("tiny.pth", 512)).outputs["big"]
    assert torch.allclose(via_pickle, whole)


def test_upscaler_names_are_confined(tiny_esrgan: Path) -> None:
    from graphrt import InvalidGraph

    rt = Runtime(models_dir=tiny_esrgan, device="cpu")
    with pytest.raises(InvalidGraph) as err:
        rt.run(upscale_graph("../../etc/passwd", 512))
    assert err.value.issues[0].node == "up"
