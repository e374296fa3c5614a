"""Mask maths of ComfyUI's mask and inpainting nodes, reproduced with their quirks.

Plain torch functions on MASK [B, H, W] (or [H, W]) and LATENT samples [B, C, H, W]; none
mutates its inputs. Where ComfyUI's result depends on the order of float operations (the
feathering loops), the same operations are applied in the same order.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

MaskOp = Literal["multiply", "add", "subtract", "and", "or", "xor"]


def as_batch(mask: torch.Tensor) -> torch.Tensor:
    """Any [.., H, W] mask → [B, H, W] (a view where possible)."""
    return mask.reshape(-1, mask.shape[-2], mask.shape[-1])


def feather(mask: torch.Tensor, left: int, top: int, right: int, bottom: int) -> torch.Tensor:
    """FeatherMask: [B, H, W] with edge columns/rows scaled by (i + 1)/n, i from the edge.

    Quirk kept: the right and bottom loops index column/row −i, so i = 0 hits column/row 0
    (scaled by 1/n) and the last column/row gets 2/n, not 1/n. Sizes clamp to the mask.
    """
    out = as_batch(mask).clone()
    h, w = out.shape[-2:]
    left, right, top, bottom = min(left, w), min(right, w), min(top, h), min(bottom, h)
    for i in range(left):
        out[:, :, i] *= (i + 1.0) / left
    for i in range(right):
        out[:, :, -i] *= (i + 1) / right
    for i in range(top):
        out[:, i, :] *= (i + 1) / top
    for i in range(bottom):
        out[:, -i, :] *= (i + 1) / bottom
    return out


def grow(mask: torch.Tensor, expand: int, tapered_corners: bool = True) -> torch.Tensor:
    """GrowMask: |expand| grey dilations (expand > 0) or erosions (< 0) by a 3×3 window, a
    plus-shaped one when tapered; pixels outside the mask are ignored (scipy's default
    "reflect" border repeats the edge pixel, which the window already holds). [B, H, W]."""
    out = as_batch(mask).clone()
    if expand == 0 or out.numel() == 0:
        return out
    sign = 1.0 if expand > 0 else -1.0
    x = out.unsqueeze(1) * sign  # erosion = −dilation(−x)
    h, w = out.shape[-2:]
    if not tapered_corners:  # k square steps = one (2k+1)² window; padding is −inf
        k = min(abs(expand), max(h, w))
        x = F.max_pool2d(x, (1, 2 * k + 1), stride=1, padding=(0, k))
        x = F.max_pool2d(x, (2 * k + 1, 1), stride=1, padding=(k, 0))
        return (x * sign)[:, 0]
    for _ in range(min(abs(expand), h + w)):  # stable after h + w plus-shaped steps
        p = F.pad(x, (1, 1, 1, 1), mode="replicate")
        x = torch.stack([p[..., 1:-1, 1:-1], p[..., :-2, 1:-1], p[..., 2:, 1:-1],
                         p[..., 1:-1, :-2], p[..., 1:-1, 2:]]).amax(0)
    return (x * sign)[:, 0]


def composite(destination: torch.Tensor, source: torch.Tensor, x: int, y: int,
              operation: MaskOp) -> torch.Tensor:
    """MaskComposite: `source` combined into `destination` with its top-left at (x, y), then
    the whole result clamped to [0, 1]. and/or/xor act on rounded masks. [B, H, W]."""
    out = as_batch(destination).clone()
    src = as_batch(source).to(out.device, out.dtype)
    h, w = out.shape[-2:]
    right, bottom = min(x + src.shape[-1], w), min(y + src.shape[-2], h)
    if right > x and bottom > y:
        d = out[:, y:bottom, x:right]
        s = src[:, : bottom - y, : right - x]
        if operation == "multiply":
            r = d * s
        elif operation == "add":
            r = d + s
        elif operation == "subtract":
            r = d - s
        elif operation in ("and", "or", "xor"):
            fn = {"and": torch.bitwise_and, "or": torch.bitwise_or,
                  "xor": torch.bitwise_xor}[operation]
            r = fn(d.round().bool(), s.round().bool()).to(out.dtype)
        else:
            raise ValueError(f"unknown mask operation {operation!r}")
        out[:, y:bottom, x:right] = r
    return out.clamp(0.0, 1.0)


def outpaint_mask(height: int, width: int, top: int, bottom: int, left: int, right: int,
                  feathering: int, device: torch.device | None = None) -> torch.Tensor:
    """ImagePadForOutpaint's mask [H + top + bottom, W + left + right]: 1 on the padding; on
    the image, ((f − d)/f)² where the distance d to the nearest padded side is below f
    (sides without padding count as H or W away), else 0. Feathering applies only when
    0 < 2f < H and 2f < W."""
    mask = torch.ones(height + top + bottom, width + left + right, device=device)
    inner = torch.zeros(height, width, device=device)
    if feathering > 0 and 2 * feathering < height and 2 * feathering < width:
        i = torch.arange(height, dtype=torch.float64, device=device)[:, None]
        j = torch.arange(width, dtype=torch.float64, device=device)[None, :]
        full_h, full_w = torch.full_like(i, height), torch.full_like(j, width)
        d = torch.minimum(
            torch.minimum(i if top else full_h, height - i if bottom else full_h),
            torch.minimum(j if left else full_w, width - j if right else full_w))
        v = (feathering - d) / feathering
        inner = torch.where(d < feathering, v * v, 0.0).to(torch.float32)
    mask[top : top + height, left : left + width] = inner
    return mask


def composite_feather(shape: tuple[int, int], feather: int, top: bool, bottom: bool,
                      left: bool, right: bool, like: torch.Tensor) -> torch.Tensor:
    """LatentComposite's feather weights [h, w] for the pasted part: row/column t from a
    feathered side (one not at the destination's edge) is scaled by (t + 1)/feather, in
    ComfyUI's loop order (slices past the size behave as Python slices do)."""
    m = torch.ones(shape, dtype=like.dtype, device=like.device)
    h, w = shape
    for t in range(feather):
        rate = (1.0 / feather) * (t + 1)
        if top:
            m[t : 1 + t, :] *= rate
        if bottom:
            m[h - 1 - t : h - t, :] *= rate
        if left:
            m[:, t : 1 + t] *= rate
        if right:
            m[:, w - 1 - t : w - t] *= rate
    return m


def inpaint_grow(mask: torch.Tensor, grow_by: int) -> torch.Tensor:
    """VAEEncodeForInpaint's growth of [B, 1, H, W]: clamp(round(mask) ⊛ ones(k, k), 0, 1)
    with zero padding ⌈(k − 1)/2⌉ (an even k adds a row and column); k = 0 returns `mask`."""
    if grow_by == 0:
        return mask
    p = math.ceil((grow_by - 1) / 2)
    r = mask.round()
    rows = torch.ones(1, 1, 1, grow_by, dtype=r.dtype, device=r.device)
    summed = F.conv2d(F.conv2d(r, rows, padding=(0, p)), rows.transpose(-1, -2), padding=(p, 0))
    return summed.clamp(0, 1)
