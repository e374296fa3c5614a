"""The built-in toy model family (docs/design-notes.md, "Toy models"): `toy-shapes` and
`toy-shapes-refiner`.

Same interfaces as an SD checkpoint: a `DiffusionModel` (EPS, 1000 scaled-linear timesteps,
quantized timesteps by default), a text encoder (`ToyClip`) and a VAE (`ToyVae`).
Conventions:
- latent: 4 channels at 1/8 resolution, RGB in [−1, 1] plus luminance (`vae.py`);
  latent_scale = 1.0, since these values already have SD-like magnitude (|x| ≤ 1) and
  internal space then equals VAE space;
- context: one-hot token rows [1, 77, 64] (`clip.py`), read back exactly by the UNet;
- prompt → scene → Gaussian mixture with per-pixel spread s = 0.1 (`toy-shapes`) or 0.05
  (`toy-shapes-refiner`); the empty prompt gives N(grey, S²I) with S = 2s (`prompt.py`,
  `unet.py`). S is only twice s on purpose: guidance saturates colours only if the
  unconditional model still pulls towards grey where the conditional one settles on the scene;
  with S ≫ s the guided flow's fixed point w·μ/(w + (1 − w)s²/S²) tends to μ (no saturation).
"""

from __future__ import annotations

from ...kernels.model import DiffusionModel
from ..builtin import TOY_MODELS
from .clip import ToyClip
from .prompt import Scene, ToyObject, parse_prompt
from .unet import ToyUNet
from .vae import ToyVae

LATENT_SCALE = 1.0
SPREADS = dict(zip(TOY_MODELS, (0.1, 0.05), strict=True))  # toy-shapes, toy-shapes-refiner
UNCOND_RATIO = 2.0

__all__ = [
    "LATENT_SCALE",
    "SPREADS",
    "TOY_MODELS",
    "Scene",
    "ToyClip",
    "ToyObject",
    "ToyUNet",
    "ToyVae",
    "load_toy",
    "parse_prompt",
]


def load_toy(name: str, *, quantize: bool = True, device: str = "cpu"
             ) -> tuple[DiffusionModel, ToyClip, ToyVae]:
    """(model, clip, vae) of the toy model `name` (one of `TOY_MODELS`) on `device`; fresh
    instances."""
    if name not in SPREADS:
        raise KeyError(f"unknown toy model {name!r}; choose one of {TOY_MODELS}")
    net = ToyUNet(spread=SPREADS[name], uncond_spread=UNCOND_RATIO * SPREADS[name])
    model = DiffusionModel(net, latent_scale=LATENT_SCALE, quantize=quantize, name=name)
    return model.to(device), ToyClip().to(device), ToyVae().to(device)
