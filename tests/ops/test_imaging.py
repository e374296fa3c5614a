"""Image and mask kernels (`ops/imaging.py`) on tiny tensors with hand-computed answers."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from graphrt.ops.kernels.imaging import (
    blend_images,
    composite_masked,
    grow_mask_exact,
    grow_mask_impact,
    png_bytes,
    read_png,
    scale_image,
)


def block_mask() -> torch.Tensor:
    """4 rows × 6 columns, ones at rows 1–2, columns 2–3."""
    mask = torch.zeros(4, 6)
    mask[1:3, 2:4] = 1.0
    return mask


def square_mask(size: int = 9, side: int = 5) -> torch.Tensor:
    mask = torch.zeros(size, size)
    lo = (size - side) // 2
    mask[lo : lo + side, lo : lo + side] = 1.0
    return mask


# Resizing the 4×6 block mask to size (w, h) = (6, 4) gives 6 rows × 4 columns: bilinear
# (half-pixel) source rows (i + ½)·4/6 − ½ = [0 (clamped), .5, 1.17, 1.83, 2.5, 3.17] and
# columns (j + ½)·6/4 − ½ = [.25, 1.75, 3.25, 4.75] read the block as these profiles:
ROWS = torch.tensor([0.0, 0.5, 1.0, 1.0, 0.5, 0.0])
COLS = torch.tensor([0.0, 0.75, 0.75, 0.0])
# round(resized) is then 1 at rows 2–3, columns 1–2.
IMPACT_K2 = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [0, 0, 0, 0]]
"""k = 2: padding 1, each output reads rows i−1..i and columns j−1..j: grows down/right only."""
IMPACT_K3 = [[0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]]
"""k = 3: a centred 3×3 window."""


def test_impact_swaps_axes_and_resizes():
    out = grow_mask_impact(block_mask(), 0, width=6, height=4)
    assert out.shape == (6, 4)
    assert torch.allclose(out, ROWS[:, None] * COLS[None, :])


@pytest.mark.parametrize(("factor", "expected"), [(2, IMPACT_K2), (3, IMPACT_K3)])
def test_impact_dilation_by_hand(factor, expected):
    out = grow_mask_impact(block_mask()[None], factor, width=6, height=4)
    assert out.shape == (1, 6, 4)
    assert torch.equal(out[0], torch.tensor(expected, dtype=torch.float32))


def test_impact_even_kernel_is_asymmetric():
    mask = square_mask(8, 2)
    grown = grow_mask_impact(mask, 2, 8, 8)
    assert not torch.equal(grown.flip(0, 1), grow_mask_impact(mask.flip(0, 1), 2, 8, 8))


def test_exact_is_symmetric_and_keeps_axes():
    grown = grow_mask_exact(block_mask(), 1)
    expected = torch.zeros(4, 6)
    expected[0:4, 1:5] = 1.0
    assert torch.equal(grown, expected)
    mask = (torch.rand(2, 7, 10, generator=torch.Generator().manual_seed(0)) > 0.8).float()
    for r in (1, 2, -1):
        assert torch.equal(grow_mask_exact(mask.flip(1, 2), r), grow_mask_exact(mask, r).flip(1, 2))
        assert torch.equal(grow_mask_exact(mask.mT, r), grow_mask_exact(mask, r).mT)


def test_square_grows_and_shrinks():
    mask = square_mask()
    assert torch.equal(grow_mask_exact(mask, 1), square_mask(9, 7))
    assert torch.equal(grow_mask_exact(mask, -1), square_mask(9, 3))
    assert torch.equal(grow_mask_exact(mask, -2), square_mask(9, 1))
    assert torch.equal(grow_mask_exact(mask, 0), mask)
    for k in (1, 3, 5):  # odd k on a square mask: both modes agree
        assert torch.equal(grow_mask_impact(mask, k, 9, 9), grow_mask_exact(mask, k // 2))


def test_scale_center_crop():
    image = torch.arange(4 * 8 * 3, dtype=torch.float32).reshape(1, 4, 8, 3)
    out = scale_image(image, 4, 4, "nearest-exact", "center")  # crop x = round((8 − 4)/2) = 2
    assert torch.equal(out, image[:, :, 2:6])
    wide = scale_image(image, 8, 2, "nearest-exact", "center")  # crop y = round((4 − 2)/2) = 1
    assert torch.equal(wide, image[:, 1:3])
    big = scale_image(image, 8, 8, "nearest-exact", "center")  # columns 2–5, each doubled
    assert torch.equal(big, image[:, :, 2:6].repeat_interleave(2, 1).repeat_interleave(2, 2))
    half = scale_image(image, 0, 2, "area")  # width 0 keeps the aspect ratio: 4
    assert half.shape == (1, 2, 4, 3)
    assert torch.allclose(half[0, 0, 0], image[0, :2, :2].mean(dim=(0, 1)))
    assert scale_image(image, 0, 0) is image


def test_scale_bicubic_is_not_clamped_and_lanczos_works():
    step = torch.zeros(1, 4, 4, 3)
    step[:, :, 2:] = 1.0
    up = scale_image(step, 16, 4, "bicubic")
    assert up.min() < 0 and up.max() > 1
    flat = torch.full((2, 5, 7, 3), 0.4)
    out = scale_image(flat, 14, 10, "lanczos")
    assert out.shape == (2, 10, 14, 3)
    assert torch.allclose(out, torch.full_like(out, 102 / 255))  # via 8-bit: ⌊0.4·255⌋ = 102


@pytest.mark.parametrize(
    ("mode", "a", "b", "factor", "expected"),
    [
        ("normal", 0.2, 0.6, 0.5, 0.4),
        ("multiply", 0.5, 0.5, 1.0, 0.25),
        ("screen", 0.5, 0.5, 1.0, 0.75),
        ("overlay", 0.25, 0.5, 1.0, 0.25),
        ("overlay", 0.75, 0.5, 1.0, 0.75),
        ("soft_light", 0.25, 0.5, 1.0, 0.25),
        ("difference", 0.8, 0.3, 0.5, 0.65),
        ("difference", 0.2, 0.6, 0.5, 0.0),  # signed difference, clamped
    ],
)
def test_blend_modes(mode, a, b, factor, expected):
    out = blend_images(torch.full((1, 2, 2, 3), a), torch.full((1, 2, 2, 3), b), factor, mode)
    assert torch.allclose(out, torch.full_like(out, expected))


def test_blend_resizes_b_to_a():
    a = torch.zeros(1, 4, 6, 3)
    out = blend_images(a, torch.ones(1, 8, 8, 3), 0.5, "normal")
    assert out.shape == a.shape and torch.allclose(out, torch.full_like(a, 0.5))


def test_composite():
    dst, src = torch.zeros(2, 4, 6, 6), torch.ones(2, 4, 6, 6)
    assert torch.equal(composite_masked(dst, src, 0, 0, torch.ones(6, 6)), src)
    small = torch.ones(1, 4, 2, 3)
    out = composite_masked(dst, small, 8, 16, torch.full((1, 4, 4), 0.5))
    expected = torch.zeros_like(dst)
    expected[..., 2:4, 1:4] = 0.5
    assert torch.equal(out, expected)
    clipped = composite_masked(dst, small, -8, 40)  # left column and bottom row fall outside
    expected = torch.zeros_like(dst)
    expected[..., 5:6, 0:2] = 1.0
    assert torch.equal(clipped, expected)
    resized = composite_masked(dst, small, 0, 0, resize_source=True)
    assert torch.equal(resized, torch.ones_like(dst))
    pixels = composite_masked(dst, small, 3, 1, multiplier=1)
    assert pixels[0, 0, 1:3, 3:6].eq(1).all() and pixels.sum() == 2 * 4 * 6


def test_png_round_trip(tmp_path):
    pixels = torch.arange(5 * 7 * 3).reshape(5, 7, 3).float() / 255.0
    meta = {"prompt": '{"nodes": {}}', "workflow": "ünïcode ✓"}
    path = tmp_path / "out.png"
    path.write_bytes(png_bytes(pixels, meta))
    image, mask, read_meta = read_png(path)
    assert image.shape == (1, 5, 7, 3) and torch.allclose(image[0], pixels)
    assert torch.equal(mask, torch.zeros(1, 5, 7)) and read_meta == meta
    assert torch.allclose(read_png(path.read_bytes())[0], image)


def test_read_png_alpha_mask():
    rgba = np.zeros((3, 4, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    _, mask, meta = read_png(buf.getvalue())
    expected = torch.zeros(1, 3, 4)
    expected[0, 0, 0] = 1.0
    assert torch.equal(mask, expected) and meta == {}


def test_nothing_mutates_its_inputs():
    gen = torch.Generator().manual_seed(3)
    mask, image = torch.rand(2, 6, 6, generator=gen), torch.rand(1, 6, 8, 3, generator=gen)
    other, latent = torch.rand(1, 4, 4, 3, generator=gen), torch.rand(2, 4, 3, 3, generator=gen)
    inputs = [mask, image, other, latent]
    before = [t.clone() for t in inputs]
    grow_mask_impact(mask, 3, 6, 6)
    grow_mask_exact(mask, 1)
    grow_mask_exact(mask, -1)
    for method in ("nearest-exact", "bilinear", "area", "bicubic", "lanczos"):
        scale_image(image, 4, 4, method, "center")
    blend_images(image, other, 0.5, "overlay")
    composite_masked(latent, latent[:1, :, :2], 8, 8, mask)
    png_bytes(image[0])
    assert all(torch.equal(t, b) for t, b in zip(inputs, before, strict=True))
