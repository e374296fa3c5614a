"""The ops behind ComfyUI's basic latent, image, mask and conditioning classes, on tiny
tensors with hand-worked answers (ComfyUI's semantics, quirks included)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.ops import cond, image, latent, latent_edit, mask
from graphrt.ops.kernels.bislerp import bislerp
from graphrt.ops.kernels.noise import prepare_noise


def call(fn: Any, inputs: tuple[Any, ...] = (), **params: Any) -> Any:
    """Run an op with its params validated as a document's would be."""
    return fn(fn.op_spec.params.model_validate(params), *inputs)


def lat(samples: torch.Tensor, **extra: Any) -> dict[str, Any]:
    return {"samples": samples, **extra}


# ---- latent ----------------------------------------------------------------------------

def test_latent_upscale_sizes_aspect_and_minimum() -> None:
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    up = call(latent_edit.upscale, (lat(x),), method="nearest-exact", width=128, height=0)
    assert torch.equal(up["samples"], x.repeat_interleave(2, 2).repeat_interleave(2, 3))
    small = call(latent_edit.upscale, (lat(x),), width=16, height=24)  # both raised to 64
    assert small["samples"].shape == (1, 1, 8, 8)
    same = lat(x)
    assert call(latent_edit.upscale, (same,), width=0, height=0) is same
    # centre crop to 2:1 first: y = round((8 − 8·½)/2) = 2, rows 2..5, then 4×8 → 8×16
    wide = call(latent_edit.upscale, (lat(x),), width=128, height=64, crop="center")
    assert torch.equal(wide["samples"],
                       x[..., 2:6, :].repeat_interleave(2, 2).repeat_interleave(2, 3))


def test_latent_upscale_by_rounds_like_python() -> None:
    x = torch.zeros(1, 4, 3, 5)
    out = call(latent_edit.upscale_by, (lat(x, batch_index=[4]),), scale_by=1.5)
    assert out["samples"].shape == (1, 4, 4, 8)  # round(4.5) = 4, round(7.5) = 8
    assert out["batch_index"] == [4]


def test_bislerp_by_hand() -> None:
    # a = (1, 0) and b = (0, 1) (C = 2) side by side, width 2 → 4: bilinear positions
    # [0 (clamped), .25, .75, 1 (clamped)]: slerp by 0, ¼, ¾ along the quarter circle, then b
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).T.reshape(1, 2, 1, 2)
    out = call(latent_edit.upscale_by, (lat(x),), method="bislerp", scale_by=2.0)["samples"]
    c, s = math.cos(math.pi / 8), math.sin(math.pi / 8)
    row = torch.tensor([[1.0, 0.0], [c, s], [s, c], [0.0, 1.0]])
    assert out.shape == (1, 2, 2, 4)
    for r in range(2):  # one row → two: both read row 0 (same vectors: kept as they are)
        assert torch.allclose(out[0, :, r].T, row, atol=1e-6)
    # lengths interpolate linearly; opposite vectors are lerped; zero vectors stay finite
    scaled = torch.tensor([[2.0, 0.0], [0.0, 4.0]]).T.reshape(1, 2, 1, 2)
    mid = bislerp(scaled, 4, 1)[0, :, 0, 1]
    assert torch.allclose(mid.norm(), torch.tensor(2.5))
    opposite = torch.tensor([[1.0, 0.0], [-1.0, 0.0]]).T.reshape(1, 2, 1, 2)
    assert torch.allclose(bislerp(opposite, 4, 1)[0, :, 0, 1], torch.tensor([0.5, 0.0]))
    assert torch.isfinite(bislerp(torch.zeros(1, 4, 3, 3), 5, 4)).all()


def test_latent_composite_paste_and_clip() -> None:
    dst = torch.zeros(1, 1, 4, 6)
    out = call(latent_edit.composite, (lat(dst), lat(torch.ones(1, 1, 2, 2))), x=16, y=8)
    expected = torch.zeros(1, 1, 4, 6)
    expected[..., 1:3, 2:4] = 1.0
    assert torch.equal(out["samples"], expected)
    clipped = call(latent_edit.composite, (lat(dst), lat(torch.ones(1, 1, 2, 2))), x=40, y=0)
    expected = torch.zeros(1, 1, 4, 6)
    expected[..., 0:2, 5:6] = 1.0
    assert torch.equal(clipped["samples"], expected)
    assert torch.equal(dst, torch.zeros(1, 1, 4, 6))


def test_latent_composite_feather() -> None:
    dst, src = lat(torch.zeros(1, 1, 6, 6)), lat(torch.ones(1, 1, 4, 4))
    # at (1, 1) with feather 2: every side is inside, rows/columns 0 and 3 get ½ (t = 0)
    out = call(latent_edit.composite, (dst, src), x=8, y=8, feather=16)["samples"][0, 0]
    ramp = torch.tensor([0.5, 1.0, 1.0, 0.5])
    expected = torch.zeros(6, 6)
    expected[1:5, 1:5] = ramp[:, None] * ramp[None, :]
    assert torch.equal(out, expected)
    # at (0, 0): top and left touch the edge and are not feathered
    out = call(latent_edit.composite, (dst, src), x=0, y=0, feather=16)["samples"][0, 0]
    ramp = torch.tensor([1.0, 1.0, 1.0, 0.5])
    assert torch.equal(out[:4, :4], ramp[:, None] * ramp[None, :])


def test_latent_blend_weights_samples1_and_resizes() -> None:
    a, b = torch.ones(1, 4, 2, 2), torch.full((1, 4, 2, 2), 3.0)
    out = call(latent_edit.blend, (lat(a, batch_index=[0]), lat(b)), blend_factor=0.25)
    assert torch.allclose(out["samples"], torch.full_like(a, 2.5))  # ¼·1 + ¾·3
    assert out["batch_index"] == [0]
    resized = call(latent_edit.blend, (lat(a), lat(torch.full((1, 4, 4, 6), 3.0))))
    assert torch.allclose(resized["samples"], torch.full_like(a, 2.0), atol=1e-5)


def test_latent_from_batch() -> None:
    x = torch.arange(4.0).reshape(4, 1, 1, 1)
    m0, m1 = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    out = call(latent_edit.from_batch, (lat(x),), batch_index=2, length=5)
    assert torch.equal(out["samples"].flatten(), torch.tensor([2.0, 3.0]))
    assert out["batch_index"] == [2, 3] and "noise_mask" not in out
    last = call(latent_edit.from_batch, (lat(x, batch_index=[10, 11, 12, 13]),), batch_index=9)
    assert last["samples"].flatten().tolist() == [3.0] and last["batch_index"] == [13]
    one = call(latent_edit.from_batch, (lat(x, noise_mask=m1),), batch_index=1)
    assert torch.equal(one["noise_mask"], m1)  # a one-entry mask is kept whole
    two = call(latent_edit.from_batch, (lat(x, noise_mask=torch.cat([m0, m1])),),
               batch_index=2, length=2)  # [m0, m1] repeated to 4 → entries 2, 3 = m0, m1
    assert torch.equal(two["noise_mask"], torch.cat([m0, m1]))


def test_repeat_latent_batch() -> None:
    x = torch.arange(2.0).reshape(2, 1, 1, 1)
    masks = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2)])
    out = call(latent_edit.repeat_batch, (lat(x, batch_index=[3, 5], noise_mask=masks),),
               amount=3)
    assert out["samples"].flatten().tolist() == [0, 1, 0, 1, 0, 1]
    assert out["batch_index"] == [3, 5, 6, 8, 9, 11]  # offset max − min + 1 = 3
    assert torch.equal(out["noise_mask"], masks.repeat(3, 1, 1, 1))
    single = torch.ones(1, 1, 2, 2)
    kept = call(latent_edit.repeat_batch, (lat(x, noise_mask=single),), amount=2)
    assert kept["noise_mask"] is single and "batch_index" not in kept
    # quirk: a 2-entry mask on a 3-entry batch is repeated as it is (4 entries, not 6)
    odd = call(latent_edit.repeat_batch, (lat(torch.zeros(3, 1, 1, 1), noise_mask=masks),),
               amount=2)
    assert odd["noise_mask"].shape[0] == 4


class EchoVae:
    """A VAE whose latent is the pixels it was given (to see what the op encodes)."""

    downscale = 8

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels.clone()


def test_encode_for_inpaint_crops_greys_and_grows() -> None:
    img = torch.rand(1, 10, 12, 3, generator=torch.Generator().manual_seed(0))
    m = torch.zeros(1, 10, 12)
    m[0, 4, 5] = 1.0  # crop offsets (10 % 8)//2 = 1, (12 % 8)//2 = 2 → (3, 3) after the cut
    out = call(latent_edit.encode_for_inpaint, (EchoVae(), img, m), grow_mask_by=3)
    pixels, crop = out["samples"], img[:, 1:9, 2:10]
    assert pixels.shape == (1, 8, 8, 3)
    assert torch.equal(pixels[0, 3, 3], torch.full((3,), 0.5))
    keep = torch.ones(8, 8, dtype=torch.bool)
    keep[3, 3] = False
    assert torch.equal(pixels[0][keep], crop[0][keep])
    grown = torch.zeros(1, 1, 8, 8)
    grown[..., 2:5, 2:5] = 1.0  # k = 3, padding 1: a centred 3×3
    assert torch.equal(out["noise_mask"], grown)
    # k = 2, padding 1: the box reads rows/columns i − 1..i, so it grows down and right
    even = call(latent_edit.encode_for_inpaint, (EchoVae(), img, m), grow_mask_by=2)
    grown = torch.zeros(1, 1, 8, 8)
    grown[..., 3:5, 3:5] = 1.0
    assert torch.equal(even["noise_mask"], grown)
    none = call(latent_edit.encode_for_inpaint, (EchoVae(), img, m), grow_mask_by=0)
    assert torch.equal(none["noise_mask"], (m[:, None, 1:9, 2:10]))


def test_empty_latent_batch_and_noise_of_a_batch_entry() -> None:
    """EmptyLatentImage: zeros [B, 4, H/8, W/8], no batch_index, so a sampler draws one
    noise of the whole batch; LatentFromBatch's batch_index gives entry i draw i, which is
    the same slice of that draw."""
    ctx = OpContext.detached()
    empty = latent.empty(latent.Empty(width=64, height=64, batch=3), ctx=ctx)
    assert set(empty) == {"samples"} and torch.equal(empty["samples"], torch.zeros(3, 4, 8, 8))
    picked = call(latent_edit.from_batch, (empty,), batch_index=1)
    assert picked["batch_index"] == [1]
    whole = prepare_noise(empty["samples"], 5)
    assert torch.equal(prepare_noise(picked["samples"], 5, picked["batch_index"]), whole[1:2])


# ---- image -----------------------------------------------------------------------------

def test_image_scale_by() -> None:
    x = torch.rand(1, 2, 3, 3)
    assert torch.equal(call(image.scale_by, (x,), scale_by=2.0),
                       x.repeat_interleave(2, 1).repeat_interleave(2, 2))
    assert call(image.scale_by, (x,), method="bilinear", scale_by=1.5).shape == (1, 3, 4, 3)


def test_image_invert_crop_empty() -> None:
    x = torch.arange(60.0).reshape(1, 4, 5, 3) / 60
    assert torch.equal(call(image.invert, (x,)), 1.0 - x)
    assert torch.equal(call(image.crop, (x,), width=2, height=3, x=4, y=1), x[:, 1:4, 4:5])
    assert torch.equal(call(image.crop, (x,), width=2, height=2, x=10, y=10), x[:, 3:, 4:])
    out = call(image.empty, width=4, height=3, batch=2, color=0xFF8000)
    assert out.shape == (2, 3, 4, 3) and out.dtype == torch.float32
    assert torch.equal(out[1, 2, 3], torch.tensor([1.0, 128 / 255, 0.0]))


def test_pad_for_outpaint_feathering() -> None:
    x = torch.full((1, 6, 6, 3), 0.2)
    out, m = call(image.pad_for_outpaint, (x,), left=2, bottom=2, feathering=2)
    assert out.shape == (1, 8, 8, 3) and m.shape == (8, 8)
    assert torch.equal(out[:, :6, 2:], x) and (out[:, 6:] == 0.5).all()
    assert (out[:, :, :2] == 0.5).all()
    # inside: d = min(6 − i (bottom padded), j (left padded)); top/right unpadded count as 6;
    # d = 0 → ((2 − 0)/2)² = 1, d = 1 → (½)² = ¼, d ≥ 2 → 0
    inner = torch.zeros(6, 6)
    inner[:, 0], inner[:, 1], inner[5, 1:] = 1.0, 0.25, 0.25
    expected = torch.ones(8, 8)
    expected[:6, 2:] = inner
    assert torch.equal(m, expected)
    _, no_fade = call(image.pad_for_outpaint, (x,), left=2, feathering=3)  # 2·3 < 6 fails
    assert torch.equal(no_fade[:, 2:], torch.zeros(6, 6)) and (no_fade[:, :2] == 1).all()


# ---- mask ------------------------------------------------------------------------------

def test_load_image_mask_channels(tmp_path: Path) -> None:
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 51
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgba[..., :3], "RGB").save(tmp_path / "b.png")
    ctx = OpContext.detached(folders=Folders(tmp_path, tmp_path, tmp_path / "out"))

    def load(name: str, channel: str) -> torch.Tensor:
        out: torch.Tensor = mask.load(mask.Load(name=name, channel=channel), ctx=ctx)
        return out

    assert torch.allclose(load("a.png", "alpha"), torch.full((1, 2, 3), 1 - 51 / 255))
    assert torch.equal(load("a.png", "red"), torch.ones(1, 2, 3))
    assert torch.equal(load("a.png", "green"), torch.zeros(1, 2, 3))
    assert torch.equal(load("b.png", "alpha"), torch.zeros(1, 2, 3))  # RGBA conversion: opaque


def test_solid_invert_threshold() -> None:
    assert torch.equal(call(mask.solid, value=0.25, width=3, height=2), torch.full((1, 2, 3), 0.25))
    m = torch.tensor([[0.2, 0.5, 0.7]])
    assert torch.allclose(call(mask.invert, (m,)), torch.tensor([[0.8, 0.5, 0.3]]))
    assert torch.equal(call(mask.threshold, (m,), value=0.5), torch.tensor([[0.0, 0.0, 1.0]]))


def test_feather_mask_by_hand() -> None:
    # 1×4×6 of ones, left 2, top 1, right 3, bottom 2. Columns: left gives col 0 ½, col 1 1;
    # right (indices −0, −1, −2) gives col 0 ⅓ (sic), col 5 ⅔, col 4 1. Rows: top gives
    # row 0 1; bottom (−0, −1) gives row 0 ½ (sic), row 3 1.
    out = call(mask.feather, (torch.ones(1, 4, 6),), left=2, top=1, right=3, bottom=2)
    cols = torch.tensor([1 / 6, 1, 1, 1, 1, 2 / 3])
    rows = torch.tensor([0.5, 1, 1, 1])
    assert out.shape == (1, 4, 6)
    assert torch.allclose(out[0], rows[:, None] * cols[None, :])
    assert torch.equal(call(mask.feather, (torch.ones(4, 6),)), torch.ones(1, 4, 6))
    wide = call(mask.feather, (torch.ones(1, 2, 3),), left=10)  # clamped to 3: ⅓, ⅔, 1
    assert torch.allclose(wide[0, 0], torch.tensor([1 / 3, 2 / 3, 1]))


def dot(size: tuple[int, int], at: tuple[int, int], value: float = 1.0) -> torch.Tensor:
    m = torch.zeros(1, *size)
    m[0, at[0], at[1]] = value
    return m


PLUS = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def test_grow_mask_by_hand() -> None:
    m = dot((5, 5), (2, 2), 0.75)
    plus = torch.zeros(5, 5)
    plus[1:4, 1:4] = torch.tensor(PLUS) * 0.75  # grey values are kept
    assert torch.equal(call(mask.grow_comfy, (m,), expand=1)[0], plus)
    square = torch.zeros(5, 5)
    square[1:4, 1:4] = 0.75
    assert torch.equal(call(mask.grow_comfy, (m,), expand=1, tapered_corners=False)[0], square)
    diamond = call(mask.grow_comfy, (m,), expand=2)[0]
    i, j = torch.meshgrid(torch.arange(5), torch.arange(5), indexing="ij")
    assert torch.equal(diamond, ((i - 2).abs() + (j - 2).abs() <= 2).float() * 0.75)
    # erosion: a 3×3 block loses its edges; with tapered corners the plus-shaped window
    # keeps what the square one also keeps here, but a plus survives only the plus window
    block = torch.zeros(1, 5, 5)
    block[0, 1:4, 1:4] = 1.0
    assert torch.equal(call(mask.grow_comfy, (block,), expand=-1)[0], dot((5, 5), (2, 2))[0])
    p = torch.zeros(1, 5, 5)
    p[0, 1:4, 1:4] = torch.tensor(PLUS, dtype=torch.float32)
    p[0, 2, 0] = p[0, 2, 4] = p[0, 0, 2] = p[0, 4, 2] = 1.0  # a plus of radius 2
    assert torch.equal(call(mask.grow_comfy, (p,), expand=-1)[0], dot((5, 5), (2, 2))[0])
    assert torch.equal(call(mask.grow_comfy, (p,), expand=-1, tapered_corners=False)[0],
                       torch.zeros(5, 5))
    # the border is not zero: a full mask stays full, a corner pixel grows inwards only
    assert torch.equal(call(mask.grow_comfy, (torch.ones(3, 4),), expand=-2), torch.ones(1, 3, 4))
    corner = call(mask.grow_comfy, (dot((3, 3), (0, 0)),), expand=1)[0]
    assert torch.equal(corner, torch.tensor([[1.0, 1, 0], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(call(mask.grow_comfy, (m,), expand=0), m)


DEST = torch.tensor([[0.2, 0.4, 0.6, 0.8], [0.2, 0.4, 0.6, 0.8], [1.0, 1.0, 0.0, 0.0]])
SRC = torch.tensor([[0.5, 0.7], [0.3, 0.9]])


@pytest.mark.parametrize(("operation", "region"), [
    ("multiply", [[0.3, 0.56], [0.0, 0.0]]),
    ("add", [[1.0, 1.0], [0.3, 0.9]]),          # 1.1, 1.5 clamped
    ("subtract", [[0.1, 0.1], [0.0, 0.0]]),     # −0.3, −0.9 clamped
    ("and", [[0.0, 1.0], [0.0, 0.0]]),
    ("or", [[1.0, 1.0], [0.0, 1.0]]),
    ("xor", [[1.0, 0.0], [0.0, 1.0]]),
])
def test_mask_composite_operations(operation: str, region: list[list[float]]) -> None:
    # source at (x=2, y=1): covers rows 1–2, columns 2–3 of DEST: [[0.6, 0.8], [0, 0]];
    # rounded: dest [[1, 1], [0, 0]] and src [[0 (0.5 rounds to even), 1], [0, 1]]
    out = call(mask.composite, (DEST, SRC), x=2, y=1, operation=operation)
    expected = DEST.clone()[None]
    expected[0, 1:3, 2:4] = torch.tensor(region)
    assert out.shape == (1, 3, 4)
    assert torch.allclose(out, expected)


def test_mask_composite_clips_and_clamps() -> None:
    out = call(mask.composite, (DEST, SRC), x=3, y=2, operation="add")
    expected = DEST.clone()[None]
    expected[0, 2, 3] = 0.5  # only the source's top-left pixel lands inside
    assert torch.allclose(out, expected)
    over = call(mask.composite, (torch.full((2, 2), 1.5), SRC), x=5, y=0, operation="add")
    assert torch.equal(over, torch.ones(1, 2, 2))  # nothing lands; the clamp still applies


def test_image_to_mask_and_back() -> None:
    x = torch.rand(2, 3, 4, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(call(mask.from_image, (x,), channel="green"), x[..., 1])
    with pytest.raises(ValueError, match="no alpha"):
        call(mask.from_image, (x,), channel="alpha")
    rgba = torch.rand(1, 2, 2, 4)
    assert torch.equal(call(mask.from_image, (rgba,), channel="alpha"), rgba[..., 3])
    m = torch.rand(3, 4)
    img = call(mask.to_image, (m,))
    assert img.shape == (1, 3, 4, 3) and img.is_contiguous()
    assert all(torch.equal(img[0, ..., c], m) for c in range(3))
    assert call(mask.to_image, (torch.rand(2, 3, 4),)).shape == (2, 3, 4, 3)


# ---- conditioning ----------------------------------------------------------------------

def entry(context: torch.Tensor, **options: Any) -> list[Any]:
    return [context, options]


def test_zero_out_keeps_options_and_zeros_the_pooled_part_of_y() -> None:
    c, pooled = torch.ones(1, 3, 2), torch.full((1, 2), 4.0)
    y = torch.tensor([[4.0, 4.0, 7.0, 8.0]])  # [pooled, size embedding]
    given = [entry(c, pooled_output=pooled, y=y, width=64), entry(c)]
    out = call(cond.zero_out, (given,))
    assert torch.equal(out[0][0], torch.zeros(1, 3, 2))
    assert torch.equal(out[0][1]["pooled_output"], torch.zeros(1, 2))
    assert torch.equal(out[0][1]["y"], torch.tensor([[0.0, 0.0, 7.0, 8.0]]))
    assert out[0][1]["width"] == 64 and out[1][1] == {}
    assert torch.equal(given[0][0], c) and given[0][1]["pooled_output"] is pooled


def test_average_pads_cuts_and_mixes_pooled() -> None:
    to = torch.ones(1, 3, 2)
    short, long = torch.full((1, 2, 2), 5.0), torch.full((1, 4, 2), 5.0)
    s = 0.25
    out = call(cond.average, ([entry(to, pooled_output=torch.ones(1, 2))],
                              [entry(short, pooled_output=torch.full((1, 2), 3.0)),
                               entry(long)]), conditioning_to_strength=s)
    # tokens 0–1: ¼·1 + ¾·5 = 4; token 2 (from is zero-padded): ¼·1 = 0.25
    assert torch.allclose(out[0][0], torch.tensor([4.0, 4.0, 0.25])[None, :, None].expand(1, 3, 2))
    assert torch.allclose(out[0][1]["pooled_output"], torch.full((1, 2), 2.5))
    cut = call(cond.average, ([entry(to)], [entry(long, pooled_output=torch.ones(1, 2))]),
               conditioning_to_strength=s)
    assert cut[0][0].shape == (1, 3, 2) and torch.allclose(cut[0][0], torch.full((1, 3, 2), 4.0))
    assert torch.equal(cut[0][1]["pooled_output"], torch.ones(1, 2))  # `to` had none
    kept = call(cond.average, ([entry(to, pooled_output=torch.ones(1, 2))], [entry(long)]))
    assert torch.equal(kept[0][1]["pooled_output"], torch.ones(1, 2))  # `from` had none


def test_concat_appends_the_first_from_entry() -> None:
    a, b = torch.ones(1, 2, 3), torch.zeros(1, 1, 3)
    out = call(cond.concat, ([entry(a, strength=0.5), entry(2 * a)],
                             [entry(b), entry(torch.ones(1, 5, 3))]))
    assert [o[0].shape[1] for o in out] == [3, 3]
    assert torch.equal(out[0][0], torch.cat([a, b], 1)) and out[0][1] == {"strength": 0.5}
