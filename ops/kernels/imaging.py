"""Image and mask kernels: mask growth, scaling, blending, compositing, PNG I/O.

Plain torch functions, no graph code; the ops in `image`, `mask` and `latent` adapt them.
Conventions follow ComfyUI: IMAGE [B, H, W, C] float in [0, 1]; MASK [B, H, W] or [H, W]
float in [0, 1]; LATENT samples [B, C, H, W]. No function mutates its inputs.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from PIL.PngImagePlugin import PngInfo

from .memo import IdentityMemo

ScaleMethod = Literal["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
BlendMode = Literal["normal", "multiply", "screen", "overlay", "soft_light", "difference"]


def _planes(mask: torch.Tensor) -> torch.Tensor:
    """[H, W], [B, H, W] or [B, 1, H, W] → float [B, 1, H, W]."""
    if mask.ndim not in (2, 3, 4) or (mask.ndim == 4 and mask.shape[1] != 1):
        raise ValueError(f"expected a mask [H,W], [B,H,W] or [B,1,H,W], got {tuple(mask.shape)}")
    return mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).float()


def _like(out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, 1, h, w] back to the rank of `mask`."""
    if mask.ndim == 2:
        return out[0, 0]
    return out[:, 0] if mask.ndim == 3 else out


def grow_mask_impact(mask: torch.Tensor, factor: int, width: int, height: int) -> torch.Tensor:
    """Impact Pack's mask "erosion" (a dilation), reproduced with its quirks (docs/semantics.md §6).

    The mask is resized bilinearly to size (width, height) taken as (rows, cols), so the axes
    are swapped; for factor k > 0, round(mask) is convolved with a k×k box with zero padding
    ⌈(k − 1)/2⌉ (an even k reaches one pixel further up/left), clamped, cropped to
    [:width, :height] and rounded. k = 0 returns the unrounded resize. Output rank = input
    rank, spatial shape (width, height).
    """
    if factor < 0:
        raise ValueError("factor must be ≥ 0")
    resized = F.interpolate(
        _planes(mask), size=(width, height), mode="bilinear", align_corners=False
    )
    if factor == 0:
        return _like(resized, mask)
    # clamp(conv2d(round(m), ones(k, k), zero padding p)) of a 0/1 mask is its k×k max-pool,
    # done as a 1×k then a k×1 pass (every window holds a real pixel as p ≤ k/2): the same
    # values, far cheaper for large k
    p = math.ceil((factor - 1) / 2)
    grown = F.max_pool2d(resized.round(), (1, factor), stride=1, padding=(0, p))
    grown = F.max_pool2d(grown, (factor, 1), stride=1, padding=(p, 0))
    return _like(grown.clamp(0, 1)[:, :, :width, :height].round(), mask)


def grow_mask_exact(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Symmetric binary dilation (radius > 0) or erosion (radius < 0) by a square window.

    The corrected form of `grow_mask_impact`: round(mask), then max (or min) over the
    (2|r| + 1)² window centred on each pixel, on the mask's own axes; pixels outside the mask
    are ignored. On a square mask it equals `grow_mask_impact(mask, 2r + 1, W, H)`; Impact's
    factor k corresponds to radius k // 2. radius = 0 returns `mask` unchanged.
    """
    if radius == 0:
        return mask
    planes = _planes(mask).round()
    size, pad = 2 * abs(radius) + 1, abs(radius)
    if radius > 0:
        out = F.max_pool2d(planes, size, stride=1, padding=pad)
    else:
        out = -F.max_pool2d(-planes, size, stride=1, padding=pad)
    return _like(out, mask).to(mask.dtype if mask.is_floating_point() else torch.float32)


def _center_crop(x: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Crop [.., H, W] to the aspect ratio width/height, centred (offsets rounded)."""
    old_h, old_w = x.shape[-2], x.shape[-1]
    old_aspect, new_aspect = old_w / old_h, width / height
    left = top = 0
    if old_aspect > new_aspect:
        left = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
    elif old_aspect < new_aspect:
        top = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
    return x[..., top : old_h - top, left : old_w - left]


def _lanczos(x: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Per-image PIL Lanczos resize of [B, C, H, W] (through 8-bit, as ComfyUI does)."""
    out = []
    for img in x:
        arr = np.clip(255.0 * img.movedim(0, -1).detach().cpu().float().numpy(), 0, 255)
        pil = Image.fromarray(
            arr.astype(np.uint8).squeeze(-1) if img.shape[0] == 1 else arr.astype(np.uint8)
        )
        res = np.asarray(pil.resize((width, height), resample=Image.Resampling.LANCZOS))
        res = res[..., None] if res.ndim == 2 else res
        out.append(torch.from_numpy(res.astype(np.float32) / 255.0).movedim(-1, 0))
    return torch.stack(out).to(x.device, x.dtype)


def resize_planes(
    x: torch.Tensor,
    width: int,
    height: int,
    method: ScaleMethod,
    crop: Literal["disabled", "center"],
) -> torch.Tensor:
    """ComfyUI's common_upscale on [B, C, H, W]: optional centre crop, then resize (no clamp)."""
    if crop == "center":
        x = _center_crop(x, width, height)
    if method == "lanczos":
        return _lanczos(x, width, height)
    if method not in ("nearest-exact", "bilinear", "area", "bicubic"):
        raise ValueError(f"unknown scale method {method!r}")
    extra = {"align_corners": False} if method in ("bilinear", "bicubic") else {}
    return F.interpolate(x, size=(height, width), mode=method, **extra)


def scale_image(
    image: torch.Tensor,
    width: int,
    height: int,
    method: ScaleMethod = "nearest-exact",
    crop: Literal["disabled", "center"] = "disabled",
) -> torch.Tensor:
    """ComfyUI ImageScale: [B, H, W, C] → [B, height, width, C].

    A 0 side keeps the aspect ratio (max(1, round(·))); both 0 returns the image unchanged.
    With crop="center" the input is first cropped to the target aspect ratio around its
    centre (docs/semantics.md §11.2 step 3). Bicubic output may leave [0, 1]: it is not clamped.
    """
    if width == 0 and height == 0:
        return image
    h, w = image.shape[1], image.shape[2]
    if width == 0:
        width = max(1, round(w * height / h))
    elif height == 0:
        height = max(1, round(h * width / w))
    return resize_planes(image.movedim(-1, 1), width, height, method, crop).movedim(1, -1)


def _soft_light_g(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.25, ((16 * x - 12) * x + 4) * x, x.clamp(min=0).sqrt())


_BLENDS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "normal": lambda a, b: b,
    "multiply": lambda a, b: a * b,
    "screen": lambda a, b: 1 - (1 - a) * (1 - b),
    "overlay": lambda a, b: torch.where(a <= 0.5, 2 * a * b, 1 - 2 * (1 - a) * (1 - b)),
    "soft_light": lambda a, b: torch.where(
        b <= 0.5, a - (1 - 2 * b) * a * (1 - a), a + (2 * b - 1) * (_soft_light_g(a) - a)
    ),
    "difference": lambda a, b: a - b,  # signed, as ComfyUI; the final clamp cuts negatives
}


def blend_images(
    a: torch.Tensor, b: torch.Tensor, factor: float, mode: BlendMode = "normal"
) -> torch.Tensor:
    """ComfyUI ImageBlend: clamp(a·(1 − f) + mode(a, b)·f) on [B, H, W, C] images.

    `b` is first resized to a's size (bicubic, centre crop) when the shapes differ.
    """
    if mode not in _BLENDS:
        raise ValueError(f"unknown blend mode {mode!r}")
    b = b.to(a.device, a.dtype)
    if b.shape != a.shape:
        b = scale_image(b, a.shape[2], a.shape[1], "bicubic", "center")
    return (a * (1 - factor) + _BLENDS[mode](a, b) * factor).clamp(0, 1)


def _to_batch(x: torch.Tensor, n: int) -> torch.Tensor:
    """Repeat (or cut) the batch of `x` to n entries."""
    if x.shape[0] >= n:
        return x[:n]
    return x.repeat(math.ceil(n / x.shape[0]), *([1] * (x.ndim - 1)))[:n]


_MASKS = IdentityMemo(8)  # a regional loop composites with the same masks at every step


def _composite_mask(mask: torch.Tensor, sh: int, sw: int, dst: torch.Tensor) -> torch.Tensor:
    m = F.interpolate(
        _planes(mask.to(dst.device)), size=(sh, sw), mode="bilinear", align_corners=False
    )
    return _to_batch(m.to(dst.dtype), dst.shape[0])


def composite_masked(
    dst: torch.Tensor,
    src: torch.Tensor,
    x: int,
    y: int,
    mask: torch.Tensor | None = None,
    multiplier: int = 8,
    resize_source: bool = False,
) -> torch.Tensor:
    """ComfyUI LatentCompositeMasked / ImageCompositeMasked on [B, C, H, W] (docs/semantics.md §13).

    `src` is pasted with its top-left at (x // multiplier, y // multiplier) (x, y in pixels;
    multiplier 8 for latents, 1 for images), after an optional bilinear resize to dst's size.
    The mask (any [.., h, w]) is resized bilinearly to the source, unrounded; on the overlap
    out = m·src + (1 − m)·dst, elsewhere out = dst. Batches are repeated to dst's. Negative
    offsets clip the source geometrically (ComfyUI's slicing there is inconsistent).
    """
    out = dst.clone()
    src = src.to(dst.device, dst.dtype)
    if resize_source:
        src = F.interpolate(src, size=dst.shape[-2:], mode="bilinear", align_corners=False)
    src = _to_batch(src, dst.shape[0])
    sh, sw = src.shape[-2:]
    if mask is None:
        m = torch.ones_like(src[:, :1])
    else:
        m = _MASKS.get(mask, (sh, sw, dst.device, dst.dtype, dst.shape[0]),
                       lambda: _composite_mask(mask, sh, sw, dst))
    left, top = x // multiplier, y // multiplier
    x0, x1 = max(left, 0), min(left + sw, dst.shape[-1])
    y0, y1 = max(top, 0), min(top + sh, dst.shape[-2])
    if x0 >= x1 or y0 >= y1:
        return out
    region = (..., slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
    m, part = m[region], src[region]
    out[..., y0:y1, x0:x1] = m * part + (1 - m) * dst[..., y0:y1, x0:x1]
    return out


def png_bytes(image: torch.Tensor, metadata: Mapping[str, str] | None = None) -> bytes:
    """Encode [H, W, C] (or [1, H, W, C]) in [0, 1] as 8-bit PNG with tEXt/iTXt `metadata`.

    Pixels are ⌊clip(255·v)⌋ and zlib level 4, as ComfyUI's SaveImage writes them.
    """
    if image.ndim == 4:
        if image.shape[0] != 1:
            raise ValueError(f"png_bytes takes one image, got a batch of {image.shape[0]}")
        image = image[0]
    arr = np.clip(255.0 * image.detach().cpu().float().numpy(), 0, 255).astype(np.uint8)
    info = PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.fromarray(arr.squeeze(-1) if arr.shape[-1] == 1 else arr).save(
        buf, format="PNG", pnginfo=info, compress_level=4
    )
    return buf.getvalue()


def read_png(
    source: str | os.PathLike[str] | bytes,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, str]]:
    """Read an image file (PNG or any Pillow format) as ComfyUI LoadImage does.

    Returns (image [1, H, W, 3] in [0, 1], mask [1, H, W] = 1 − alpha, text metadata).
    EXIF orientation is applied; 32-bit integer images are scaled by 1/255. Without alpha the
    mask is zeros of the image's size (ComfyUI returns a 64×64 one).
    """
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as opened:
        metadata = {str(k): str(v) for k, v in getattr(opened, "text", {}).items()}
        img = ImageOps.exif_transpose(opened)
    if img.mode == "I":
        img = img.point(lambda v: v * (1 / 255))
    rgb = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0)
    if "A" in img.getbands():
        alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255.0
    elif img.mode == "P" and "transparency" in img.info:
        alpha = np.asarray(img.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
    else:
        alpha = np.ones(rgb.shape[:2], dtype=np.float32)
    return rgb[None], (1.0 - torch.from_numpy(alpha))[None], metadata


def crop_to_multiple(image: torch.Tensor, factor: int) -> torch.Tensor:
    """[B,H,W,C] in → [B,3,H',W'] with H', W' the largest multiples of `factor`, cut centred
    at offset (dim mod factor)//2, as a VAE encode crops (docs/semantics.md §11.2 step 6)."""
    h, w = image.shape[1] // factor * factor, image.shape[2] // factor * factor
    if h == 0 or w == 0:
        raise ValueError(f"image {tuple(image.shape)} is smaller than {factor}×{factor}")
    top, left = (image.shape[1] % factor) // 2, (image.shape[2] % factor) // 2
    return image[:, top : top + h, left : left + w, :3].movedim(-1, 1)
