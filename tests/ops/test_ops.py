"""Op-level behaviour of the small ops (the kernels have their own tests)."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from graphrt import InvalidGraph, Runtime
from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.ops import cond, image, latent, mask


def test_latent_empty_and_composite() -> None:
    z = latent.empty(latent.Empty(width=64, height=32, batch=2), ctx=OpContext.detached())
    assert z["samples"].shape == (2, 4, 4, 8) and not z["samples"].any()
    src = {"samples": torch.ones(2, 4, 4, 8)}
    full = latent.composite_masked(latent.CompositeMasked(), z, src, torch.ones(32, 64))
    assert torch.equal(full["samples"], src["samples"])
    half = torch.zeros(32, 64)
    half[:, :32] = 1
    out = latent.composite_masked(latent.CompositeMasked(), z, src, half)["samples"]
    assert out[..., :4].eq(1).all() and out[..., 4:].eq(0).all()


def test_grow_units() -> None:
    m = torch.zeros(1, 64, 64)
    m[:, 24:40, 24:40] = 1
    grown = mask.grow(mask.Grow(overlap_factor=9, mode="exact"), m)
    assert grown.shape == m.shape and grown.sum() == 24 * 24
    lat = {"samples": torch.zeros(1, 4, 8, 8)}
    on_latent = mask.grow(mask.Grow(overlap_factor=3, units="latent", mode="exact"), m, lat)
    assert on_latent.shape == (1, 8, 8) and on_latent.sum() == 16
    with pytest.raises(ValueError, match="needs the latent"):
        mask.grow(mask.Grow(units="latent"), m)


def test_set_mask_keeps_entries_unshared() -> None:
    entry = [torch.zeros(1, 77, 8), {"pooled_output": torch.zeros(1, 8)}]
    out = cond.set_mask(cond.SetMask(strength=0.5), [entry], torch.ones(16, 16))
    assert out[0][1]["strength"] == 0.5 and out[0][1]["mask"].shape == (1, 16, 16)
    assert "mask" not in entry[1]
    assert cond.combine(cond.NoParams(), [entry], out) == [entry, out[0]]


def test_save_numbers_files_and_embeds_the_graph(tmp_path: Path) -> None:
    ctx = OpContext.detached(folders=Folders(output=tmp_path), document={"graph": {"nodes": {}}})
    imgs = torch.rand(2, 16, 16, 3)
    first = image.save(image.Save(prefix="sub/pic"), imgs, ctx=ctx).images
    second = image.save(image.Save(prefix="sub/pic"), imgs[:1], ctx=ctx).images
    assert first == ["sub/pic_00001_.png", "sub/pic_00002_.png"]
    assert second == ["sub/pic_00003_.png"]
    with Image.open(tmp_path / first[0]) as png:
        assert json.loads(png.text["graphrt"]) == {"graph": {"nodes": {}}}


def test_save_prefix_cannot_escape(tmp_path: Path) -> None:
    doc = {"nodes": {"i": {"op": "image.load", "params": {"name": "example.png"}},
                     "s": {"op": "image.save", "in": {"images": "i.image"},
                           "params": {"prefix": "../escape"}}}}
    result = Runtime(output_dir=tmp_path / "out").run(doc)
    assert "leaves its folder" in result.failed["s"]["message"]
    assert not (tmp_path / "escape_00001_.png").exists()


@pytest.mark.parametrize("name", ["../secret.png", "/etc/passwd", "a/../../b.png", "..\\x.png"])
def test_input_names_are_confined(name: str, tmp_path: Path) -> None:
    doc = {"nodes": {"i": {"op": "image.load", "params": {"name": name}}},
           "outputs": {"x": "i.image"}}
    with pytest.raises(InvalidGraph) as err:
        Runtime(input_dir=tmp_path).run(doc)
    assert err.value.issues[0].node == "i" and err.value.issues[0].code == "bad_file"
