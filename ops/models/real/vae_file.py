"""A separate VAE file (`<models>/vae`) → the VAE port value, offline and strict.

Accepted: the original (CompVis) layout of SD 1.x and SDXL VAEs, either bare (`encoder.*`,
`decoder.*`, `quant_conv.*`, `post_quant_conv.*`, as `vae-ft-mse-840000` and `sdxl_vae`
ship) or under a checkpoint's `first_stage_model.` prefix (then only those keys are read).
Other top-level keys (`model_ema.*`, `loss.*`, …) are ignored; every weight under the VAE's
groups must load, strictly (`convert.load_strict`). SD 1.x and SDXL VAEs have the same shapes,
so a separate VAE always computes in float32 (SDXL's overflows in fp16). Pickles load only
through `torch.load(weights_only=True)` (`load.read_state`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .configs import vae_config
from .convert import Origins, StrictLoadError, convert_vae, load_strict
from .detect import SD1, VAE, UnknownLayout
from .devices import Placement, resolve
from .load import read_state
from .vae import RealVae

GROUPS = ("encoder.", "decoder.", "quant_conv.", "post_quant_conv.")


def vae_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The VAE tensors of a file, under `first_stage_model.` (as the converter reads them)."""
    if any(k.startswith(VAE) for k in state):
        return {k: v for k, v in state.items() if k.startswith(VAE)}
    found = {VAE + k: v for k, v in state.items() if k.startswith(GROUPS)}
    if not found:
        groups = sorted({k.split(".")[0] for k in state})[:8]
        raise UnknownLayout(f"not a VAE in the original layout: no keys under "
                            f"{', '.join(GROUPS)} or {VAE!r} (groups: {', '.join(groups)})")
    if "decoder.up_blocks.0.resnets.0.norm1.weight" in state:
        raise UnknownLayout("diffusers-layout VAEs are not supported; use the original "
                            "single-file layout")
    return found


def build_vae(state: dict[str, torch.Tensor], device: Any = "cpu") -> RealVae:
    """A RealVae over the VAE tensors of `state` (either layout above), strictly loaded."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from diffusers import AutoencoderKL

    cls: Any = AutoencoderKL
    sub = vae_state(state)
    config = vae_config({k: tuple(v.shape) for k, v in sub.items()}, SD1)
    with torch.device("meta"):
        module: Any = cls(**config)
    origins = Origins(sub)
    problems = load_strict(module, convert_vae(sub, config), origins, "VAE", torch.float32)
    problems += [f"unexpected key {k.removeprefix(VAE)!r} in the file (not a VAE weight)"
                 for k in sorted(set(sub) - origins.used)]
    if problems:
        raise StrictLoadError(f"strict loading failed: {'; '.join(problems[:20])}")
    module.eval().requires_grad_(False)
    return RealVae(module, Placement(module, resolve(device), torch.float32))


def load_vae_file(path: Path, device: Any = "cpu") -> RealVae:
    """The VAE of a file in `<models>/vae`, computing on `device` in float32."""
    try:
        return build_vae(read_state(path), device)
    except ValueError as err:
        raise ValueError(f"{path.name}: {err}") from err
