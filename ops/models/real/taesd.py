"""TAESD, the tiny autoencoder, as a VAE port value (docs/models.md § TAESD).

The network is fixed by the key layout of `taesd_encoder.*` / `taesd_decoder.*`: each file
is one `nn.Sequential` whose numbered entries hold the weights (`1.weight`, `3.conv.0.weight`,
…). A block is three 3×3 convolutions with ReLUs between them (`conv.0`, `conv.2`, `conv.4`)
plus its input, through a ReLU. The encoder takes an image in [0, 1] down three stride-2
convolutions to the latent; the decoder soft-clamps the latent (3·tanh(x/3)), then upsamples
three times (nearest, ×2). Widths and latent channels are read from the shapes, every weight
must load (strict), and the modules compute in float32.

LATENT stays in raw VAE units, as with the full VAEs: `decode(z) = clamp(D((z − shift)·scale),
0, 1)` and `encode(image) = E(image) / scale + shift`, with the family's scale (SD 1.x 0.18215,
SDXL 0.13025) and shift 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...kernels.imaging import crop_to_multiple
from .devices import Placement, resolve
from .load import read_state

DOWNSCALE = 8
BLOCKS = (3, 3, 3)  # blocks per resolution between the outer ones, encoder and decoder


class TaesdLayoutError(ValueError):
    """A file that is not a TAESD encoder or decoder, or not all of one."""


def _conv(n_in: int, n_out: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, stride=stride, padding=1, bias=bias)


class _SoftClamp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3.0) * 3.0


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(_conv(width, width), nn.ReLU(), _conv(width, width),
                                  nn.ReLU(), _conv(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x) + x)


def encoder(width: int, latent_channels: int) -> nn.Sequential:
    """Image [B,3,H,W] in [0,1] → latent [B,C,H/8,W/8] (before scale and shift)."""
    layers: list[nn.Module] = [_conv(3, width), _Block(width)]
    for count in BLOCKS:
        layers += [_conv(width, width, stride=2, bias=False)]
        layers += [_Block(width) for _ in range(count)]
    return nn.Sequential(*layers, _conv(width, latent_channels))


def decoder(width: int, latent_channels: int) -> nn.Sequential:
    """Latent [B,C,h,w] (scaled) → image [B,3,8h,8w], about [0,1]."""
    layers: list[nn.Module] = [_SoftClamp(), _conv(latent_channels, width), nn.ReLU()]
    for count in BLOCKS:
        layers += [_Block(width) for _ in range(count)]
        layers += [nn.Upsample(scale_factor=2), _conv(width, width, bias=False)]
    return nn.Sequential(*layers, _Block(width), _conv(width, 3))


def _shape(state: dict[str, torch.Tensor], key: str, what: str) -> tuple[int, ...]:
    if key not in state or state[key].ndim != 4:
        found = ", ".join(sorted(state)[:6])
        raise TaesdLayoutError(f"not a TAESD {what}: no 4-d {key!r} (keys: {found})")
    return tuple(state[key].shape)


def _strict(module: nn.Sequential, state: dict[str, torch.Tensor], what: str) -> nn.Sequential:
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    problems = [f"missing {k!r}" for k in sorted(set(expected) - set(state))]
    problems += [f"unexpected {k!r}" for k in sorted(set(state) - set(expected))]
    problems += [f"{k!r} has shape {tuple(state[k].shape)}, expected {shape}"
                 for k, shape in expected.items() if k in state and tuple(state[k].shape) != shape]
    if problems:
        raise TaesdLayoutError(f"not a TAESD {what}: {'; '.join(problems[:12])}")
    module.load_state_dict({k: v.float() for k, v in state.items()})
    return module


def load_decoder(state: dict[str, torch.Tensor]) -> nn.Sequential:
    """The decoder of a `taesd*_decoder` state dict; its first convolution gives the widths."""
    width, latent = _shape(state, "1.weight", "decoder")[:2]
    return _strict(decoder(width, latent), state, "decoder")


def load_encoder(state: dict[str, torch.Tensor]) -> nn.Sequential:
    """The encoder of a `taesd*_encoder` state dict; its last convolution gives the widths."""
    latent, width = _shape(state, f"{2 + sum(1 + n for n in BLOCKS)}.weight", "encoder")[:2]
    return _strict(encoder(width, latent), state, "encoder")


class TinyAutoencoder(nn.Module):
    """The encoder and decoder of one TAESD pair."""

    def __init__(self, enc: nn.Sequential, dec: nn.Sequential) -> None:
        super().__init__()
        self.encoder, self.decoder = enc, dec
        self.latent_channels = int(dec.state_dict()["1.weight"].shape[1])
        made = int(enc.state_dict()[f"{len(enc) - 1}.weight"].shape[0])
        if made != self.latent_channels:
            raise TaesdLayoutError(f"the encoder makes {made} latent channels, the decoder "
                                   f"reads {self.latent_channels}")


class TaesdVae:
    """The VAE port value of a TAESD pair; latents in raw VAE units (module docstring)."""

    downscale = DOWNSCALE

    def __init__(self, net: TinyAutoencoder, scale: float, shift: float,
                 placement: Placement) -> None:
        self.net, self.scale, self.shift, self.placement = net, scale, shift, placement
        self.latent_channels = net.latent_channels

    @torch.no_grad()
    def encode(self, image: torch.Tensor) -> torch.Tensor:
        crop = crop_to_multiple(image, self.downscale)
        device, dtype = self.placement.use()
        z: torch.Tensor = self.net.encoder(crop.to(device, dtype))
        return (z.float() / self.scale + self.shift).to(image.device)

    @torch.no_grad()
    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        device, dtype = self.placement.use()
        x = (samples.to(device, torch.float32) - self.shift) * self.scale
        out: torch.Tensor = self.net.decoder(x.to(dtype))
        return out.float().clamp(0.0, 1.0).movedim(1, -1).to(samples.device)

    def to(self, device: Any) -> TaesdVae:
        """Compute on `device` from now on (in place; returns self)."""
        self.placement.move(device)
        return self


def load_taesd(encoder_file: Path, decoder_file: Path, scale: float, shift: float,
               device: Any = "cpu") -> TaesdVae:
    """A TAESD pair of files (any of `read_state`'s kinds) as a VAE computing on `device`."""
    parts = []
    for path, load in ((encoder_file, load_encoder), (decoder_file, load_decoder)):
        try:
            parts.append(load(read_state(path)))
        except ValueError as err:
            raise TaesdLayoutError(f"{path.name}: {err}") from err
    try:
        net = TinyAutoencoder(*parts)
    except TaesdLayoutError as err:
        raise TaesdLayoutError(f"{encoder_file.name} + {decoder_file.name}: {err}") from err
    net.eval().requires_grad_(False)
    return TaesdVae(net, scale, shift, Placement(net, resolve(device), torch.float32))
