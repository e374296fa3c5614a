"""The VAE port value over a diffusers `AutoencoderKL`, in raw (unscaled) VAE units.

`encode(image [B,H,W,3] in [0,1]) → samples [B,4,H/8,W/8]`: the image is first cropped to
multiples of 8 (centred, as VAEEncode does), mapped to [−1, 1], and encoded to the posterior
**mean**: deterministic, so a cached latent never depends on hidden randomness (ComfyUI also
takes the mean). `decode(samples) → image [B,8h,8w,3]` in [0, 1] (clamped). No scaling factor
is applied here: `DiffusionModel.latent_scale` does that (0.18215 SD 1.x, 0.13025 SDXL).
Results come back on the input's device in float32.
"""

from __future__ import annotations

from typing import Any

import torch

from ...kernels.imaging import crop_to_multiple
from .devices import Placement


class RealVae:
    """Encoder/decoder of SD and SDXL checkpoints."""

    def __init__(self, vae: Any, placement: Placement) -> None:
        self.vae, self.placement = vae, placement
        self.downscale = 2 ** (len(vae.config.block_out_channels) - 1)
        self.latent_channels = vae.config.latent_channels

    @torch.no_grad()
    def encode(self, image: torch.Tensor) -> torch.Tensor:
        crop = crop_to_multiple(image, self.downscale)
        device, dtype = self.placement.use()
        x = crop.to(device, dtype) * 2.0 - 1.0
        mean: torch.Tensor = self.vae.encode(x).latent_dist.mean
        return mean.to(image.device, torch.float32)

    @torch.no_grad()
    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        device, dtype = self.placement.use()
        x: torch.Tensor = self.vae.decode(samples.to(device, dtype), return_dict=False)[0]
        image = ((x.float() + 1.0) / 2.0).clamp(0.0, 1.0).movedim(1, -1)
        return image.to(samples.device)

    def to(self, device: Any) -> RealVae:
        """Compute on `device` from now on (in place; returns self)."""
        self.placement.move(device)
        return self
