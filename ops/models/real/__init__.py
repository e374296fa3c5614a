"""Real SD 1.x, SDXL base and SDXL refiner single-file checkpoints.

Models are diffusers (`UNet2DConditionModel`, `AutoencoderKL`) and transformers
(`CLIPTextModel`, `CLIPTextModelWithProjection`) classes built from configs derived from the
file's shapes (`configs.py`), filled by diffusers' single-file conversion functions and loaded
strictly (`convert.py`). Nothing is ever downloaded. Modules, one concept each:
`detect` (family from keys), `configs` (architecture from shapes), `convert` (key conversion,
strict loading), `tokenizer` (offline CLIP BPE), `text` (CLIP port value), `unet` (the
denoiser's network), `vae` (VAE port value), `devices` (dtype, placement, GPU budget),
`load` (file → MODEL, CLIP, VAE), `vae_file` (a separate VAE), `taesd` (the tiny
autoencoder).

Importing this package imports torch but neither diffusers nor transformers; `load_file`
imports them on first use.
"""

from __future__ import annotations

from .detect import (
    FAMILIES,
    SD1,
    SDXL,
    SDXL_REFINER,
    Family,
    UnknownLayout,
    detect_family,
)
from .load import build, load_file, read_state

__all__ = ["FAMILIES", "SD1", "SDXL", "SDXL_REFINER", "Family", "UnknownLayout", "build",
           "detect_family", "load_file", "read_state"]
