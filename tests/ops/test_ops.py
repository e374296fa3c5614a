"""Op-level behaviour of the small ops (the kernels have their own tests)."""

import json
import re
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
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
    assert out[0][1]["mask_strength"] == 0.5 and out[0][1]["mask"].shape == (1, 16, 16)
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
    with pytest.raises(InvalidGraph) as err:  # refused when checked, as the run refuses it
        Runtime(output_dir=tmp_path / "out").run(doc)
    (issue,) = err.value.issues
    assert (issue.node, issue.field, issue.code) == ("s", "params.prefix", "invalid_param")
    assert "leave the output folder" in issue.message
    assert not (tmp_path / "escape_00001_.png").exists()


PREFIXES = ["pic", "sub/pic", "a/b/c", "../x", "a/../b", "a/../../b", "/abs", "//x", "..",
            "a/..", "../", "x/", ".", "./x", "a//b", " ", "-", "..x", "x..", "a/./b", "é" * 60,
            "é" * 128, "a" * 128, "é" * 100 + "/x", "x/" + "é" * 124, "a:b", "a\\b", ""]


def _run_refuses(prefix: str, folder: Path) -> bool:
    ctx = OpContext.detached(folders=Folders(output=folder))
    try:
        image.save(image.Save.model_construct(prefix=prefix), torch.rand(1, 4, 4, 3), ctx=ctx)
    except (ValueError, OSError):
        return True
    return False


def _validation_refuses(prefix: str) -> bool:
    try:
        image.Save(prefix=prefix)
    except ValueError:
        return True
    return False


def _agree(prefix: str, folder: Path) -> None:
    """A prefix that checks runs; one the run refuses is refused when checked. The params
    model refuses more only by its declared character set and length."""
    by_validation, by_run = _validation_refuses(prefix), _run_refuses(prefix, folder)
    assert by_validation or not by_run, f"{prefix!r} validates but the run refuses it"
    if by_validation and not by_run:
        assert not re.fullmatch(r"[\w\-. /]{1,128}", prefix), prefix


@pytest.mark.parametrize("prefix", PREFIXES)
def test_validation_refuses_what_a_run_refuses(prefix: str, tmp_path: Path) -> None:
    _agree(prefix, tmp_path)


@settings(max_examples=150, deadline=None)
@given(st.text(st.sampled_from("a./é_- "), min_size=1, max_size=130))
def test_validation_and_run_agree_on_any_prefix(prefix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _agree(prefix, Path(folder))


def test_save_never_overwrites_a_file_another_run_took(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Another run takes pic_00001_.png between this run's scan of the folder and its
    write: the name is reserved atomically, so this run moves on to the next one."""
    real_iterdir = Path.iterdir

    def scan_then_race(self: Path) -> Iterator[Path]:
        listing = list(real_iterdir(self))
        (self / "pic_00001_.png").write_bytes(b"the other run's image")
        return iter(listing)

    monkeypatch.setattr(Path, "iterdir", scan_then_race)
    ctx = OpContext.detached(folders=Folders(output=tmp_path))
    saved = image.save(image.Save(prefix="pic"), torch.rand(2, 4, 4, 3), ctx=ctx).images
    assert saved == ["pic_00002_.png", "pic_00003_.png"]
    assert (tmp_path / "pic_00001_.png").read_bytes() == b"the other run's image"


def test_concurrent_saves_keep_every_image(tmp_path: Path) -> None:
    ctx = OpContext.detached(folders=Folders(output=tmp_path))
    start = threading.Barrier(8)

    def one(seed: int) -> list[str]:
        torch.manual_seed(seed)
        images = torch.rand(2, 8, 8, 3)
        start.wait()
        return list(image.save(image.Save(prefix="race"), images, ctx=ctx).images)

    with ThreadPoolExecutor(8) as pool:
        names = [n for batch in pool.map(one, range(8)) for n in batch]
    assert len(set(names)) == 16 == len(list(tmp_path.glob("race_*_.png")))
    assert not list(tmp_path.glob("*.tmp"))


def test_a_sampler_validator_that_overflows_is_an_invalid_param() -> None:
    """sample.masked_pair computes int(steps / denoise) in its validator (issue 14, 10)."""
    doc = {"nodes": {"m": {"op": "sample.masked_pair", "params": {"denoise": 5e-324}}}}
    with pytest.raises(InvalidGraph) as err:
        Runtime().prepare(doc)
    issue = next(i for i in err.value.issues if i.field == "params")
    assert (issue.node, issue.code) == ("m", "invalid_param") and "Overflow" in issue.message


@pytest.mark.parametrize("name", ["../secret.png", "/etc/passwd", "a/../../b.png", "..\\x.png"])
def test_input_names_are_confined(name: str, tmp_path: Path) -> None:
    doc = {"nodes": {"i": {"op": "image.load", "params": {"name": name}}},
           "outputs": {"x": "i.image"}}
    with pytest.raises(InvalidGraph) as err:
        Runtime(input_dir=tmp_path).run(doc)
    assert err.value.issues[0].node == "i" and err.value.issues[0].code == "bad_file"
