"""The toy VAE: an 8× average pool into a 4-channel latent, and a smooth 8× upsampling back.

Latent channels: 0–2 are R, G, B mapped from [0, 1] to [−1, 1] (2·c − 1) and averaged over
8×8 blocks; channel 3 is their luminance 0.299·R + 0.587·G + 0.114·B (same scale). Decoding
ignores channel 3, upsamples channels 0–2 bilinearly (half-pixel centres) and maps back with
(x + 1)/2, clamped to [0, 1]. An image whose sides are not multiples of 8 is first cropped to
them at offset (side mod 8)//2, as SD's VAE encode does.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ...kernels.imaging import crop_to_multiple

LUMA = (0.299, 0.587, 0.114)


def rgb_to_latent(rgb: torch.Tensor) -> torch.Tensor:
    """[..., 3, H, W] colours in [0, 1] → [..., 4, H, W] latent values (no pooling)."""
    x = rgb * 2.0 - 1.0
    luma = LUMA[0] * x[..., 0:1, :, :] + LUMA[1] * x[..., 1:2, :, :] + LUMA[2] * x[..., 2:3, :, :]
    return torch.cat([x, luma], dim=-3)


class ToyVae:
    """VAE of the toy family (no parameters; computes on its inputs' device)."""

    downscale = 8
    latent_channels = 4

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """Image [B, H, W, 3] in [0, 1] → samples [B, 4, H//8, W//8]."""
        crop = crop_to_multiple(image, self.downscale).float()
        return rgb_to_latent(F.avg_pool2d(crop, self.downscale))

    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples [B, C≥3, h, w] → image [B, 8h, 8w, 3] in [0, 1]."""
        rgb = samples[:, :3].float()
        up = F.interpolate(rgb, scale_factor=self.downscale, mode="bilinear", align_corners=False)
        return ((up + 1.0) / 2.0).clamp(0.0, 1.0).movedim(1, -1)

    def to(self, device: Any) -> ToyVae:
        """Record the preferred device (in place; returns self)."""
        self.device = torch.device(device)
        return self
