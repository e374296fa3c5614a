"""ComfyUI's latent resizing (common_upscale), including its "bislerp" method.

bislerp resizes [B, C, H, W] one axis at a time (width, then height). Each output pixel reads
two neighbours along the axis, at the indices and ratio that bilinear interpolation
(align_corners=False, clamped at the edges) would use, and spherically interpolates their
C-vectors: directions by slerp, lengths linearly. Neighbours that point the same way
(cos > 1 − 1e-5) give the first one unchanged; opposite ones (cos < 1e-5 − 1) are lerped.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from .imaging import _center_crop, resize_planes

LatentScaleMethod = Literal["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]
_EDGE = 1e-5


def _slerp(a: torch.Tensor, b: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Rows of a, b [N, C] interpolated by r [N, 1]."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua = torch.where(na == 0.0, torch.zeros_like(a), a / na)
    ub = torch.where(nb == 0.0, torch.zeros_like(b), b / nb)
    cos = (ua * ub).sum(1)
    omega = torch.acos(cos)
    sin_omega = torch.sin(omega)
    t = r.squeeze(1)
    out = (torch.sin((1.0 - t) * omega) / sin_omega).unsqueeze(1) * ua \
        + (torch.sin(t * omega) / sin_omega).unsqueeze(1) * ub
    out = out * (na * (1.0 - r) + nb * r).expand(-1, a.shape[-1])
    out = torch.where((cos > 1 - _EDGE).unsqueeze(1), a, out)
    return torch.where((cos < _EDGE - 1).unsqueeze(1), a * (1.0 - r) + b * r, out)


def _neighbours(old: int, new: int, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ratio, first index, second index) per output position, each [new]: the positions
    come from bilinearly resizing the index ramps 0..old−1 and 1..old−1, old−1 themselves."""
    ramp = torch.arange(old, dtype=torch.float32, device=device).reshape(1, 1, 1, -1)
    pos = F.interpolate(ramp, size=(1, new), mode="bilinear").flatten()
    following = ramp + 1
    following[..., -1] -= 1
    second = F.interpolate(following, size=(1, new), mode="bilinear").flatten()
    return pos - pos.floor(), pos.to(torch.int64), second.to(torch.int64)


def _along_width(x: torch.Tensor, new: int) -> torch.Tensor:
    n, c, h, w = x.shape
    ratio, first, second = _neighbours(w, new, x.device)
    pick = (n, c, h, new)
    a = x.gather(-1, first.expand(pick)).movedim(1, -1).reshape(-1, c)
    b = x.gather(-1, second.expand(pick)).movedim(1, -1).reshape(-1, c)
    r = ratio.expand(n, 1, h, new).movedim(1, -1).reshape(-1, 1)
    return _slerp(a, b, r).reshape(n, h, new, c).movedim(-1, 1)


def bislerp(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """ComfyUI's bislerp resize of [B, C, H, W] to [B, C, height, width] (in float32, returned
    in the input's dtype)."""
    x = samples.float()
    x = _along_width(x, width)
    x = _along_width(x.transpose(-1, -2), height).transpose(-1, -2)
    return x.to(samples.dtype)


def upscale_latent(samples: torch.Tensor, width: int, height: int, method: LatentScaleMethod,
                   crop: Literal["disabled", "center"]) -> torch.Tensor:
    """common_upscale on latents [B, C, H, W]: optional centre crop, then resize."""
    if method != "bislerp":
        return resize_planes(samples, width, height, method, crop)
    if crop == "center":
        samples = _center_crop(samples, width, height)
    return bislerp(samples, width, height)
