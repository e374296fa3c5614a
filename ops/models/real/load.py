"""Single-file SD 1.x / SDXL checkpoints → (MODEL, CLIP, VAE), offline.

Steps: read the tensors (`.safetensors`, or a pickle through `torch.load(weights_only=True)`
only), detect the family from the keys, derive every config from the shapes, build the
diffusers/transformers modules on the meta device from those configs (nothing is downloaded:
`from_pretrained`/`from_single_file` are never called, and HF_HUB_OFFLINE is set), convert the
weights with diffusers' single-file functions and load them strictly (`convert.load_strict`).
The parameterisation (ε or v, zero-terminal SNR) comes from marker keys (`prediction.py`).
Nothing is cached here: a loaded checkpoint is the output of a `model.load_checkpoint` node,
which the runtime's memory store holds under that node's key (file identity, device, dtype).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ...kernels.model import DiffusionModel
from .configs import derive
from .convert import (
    Origins,
    StrictLoadError,
    check_unused,
    convert_clip_g,
    convert_clip_l,
    convert_unet,
    convert_vae,
    load_strict,
)
from .detect import Family, detect_family
from .devices import Placement, compute_dtype, resolve
from .prediction import apply_prediction, prediction_of
from .text import RealClip
from .unet import UNetNet
from .vae import RealVae

SAFETENSORS = (".safetensors", ".sft")
PICKLES = (".ckpt", ".pt", ".pth", ".bin")


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint file, on the CPU."""
    if path.suffix in SAFETENSORS:
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    if path.suffix in PICKLES:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise ValueError(f"{path.name}: no state dict inside")
        return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    raise ValueError(f"{path.name}: unsupported checkpoint type {path.suffix!r}; use "
                     f"{', '.join(SAFETENSORS + PICKLES)}")


def _materialize(module: torch.nn.Module) -> torch.nn.Module:
    """Rebuild non-persistent buffers left on the meta device (CLIP's position_ids)."""
    for name, sub in module.named_modules():
        for bname, buf in list(sub.named_buffers(recurse=False)):
            if buf.device.type != "meta":
                continue
            if bname != "position_ids":
                raise RuntimeError(f"buffer {name}.{bname} was not loaded")
            value = torch.arange(buf.shape[-1]).expand(buf.shape)
            sub.register_buffer(bname, value, persistent=False)
    return module.eval().requires_grad_(False)


def build(state: dict[str, torch.Tensor], family: Family, device: Any = "cpu",
          dtype: str = "fp32") -> tuple[DiffusionModel, RealClip, RealVae]:
    """Modules for a state dict in the original layout of `family`, loaded strictly; weights
    in `dtype` on accelerators ("fp32" | "fp16" | "bf16"), fp32 on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    dev = resolve(device)
    prediction, zsnr = prediction_of(state, family)  # refuses unsupported samplings first
    configs = derive({k: tuple(v.shape) for k, v in state.items()}, family)
    origins = Origins(state)
    placements: dict[str, Placement] = {}
    problems: list[str] = []

    def make(cls: Any, config: Any) -> Any:
        with torch.device("meta"):
            return cls(**config) if isinstance(config, dict) else cls(config)

    def place(name: str, module: Any, converted: dict[str, Any], what: str) -> Any:
        weights = compute_dtype(dev, name, family.is_sdxl, dtype)
        found = load_strict(module, converted, origins, what, weights)
        problems.extend(found)
        if not found:
            placements[name] = Placement(_materialize(module), dev, weights)
        return module

    unet = make(UNet2DConditionModel, configs["unet"])
    converted, absent = convert_unet(state, configs["unet"])
    problems.extend(f"missing key {k!r}" for k in absent)
    place("unet", unet, converted, "UNet")
    vae = make(AutoencoderKL, configs["vae"])
    place("vae", vae, convert_vae(state, configs["vae"]), "VAE")
    clip_l = clip_g = None
    if family.clip_l:
        clip_l = make(CLIPTextModel, CLIPTextConfig(**configs["clip_l"]))
        place("clip_l", clip_l, convert_clip_l(state, family.clip_l), "CLIP-L")
    if family.clip_g:
        clip_g = make(CLIPTextModelWithProjection, CLIPTextConfig(**configs["clip_g"]))
        place("clip_g", clip_g, convert_clip_g(clip_g, state, family.clip_g), "CLIP-bigG")
    problems.extend(check_unused(state, family, origins))
    if problems:
        shown = "; ".join(problems[:20])
        more = f" … ({len(problems)} problems in all)" if len(problems) > 20 else ""
        raise StrictLoadError(f"strict loading failed: {shown}{more}")

    pooled = configs["clip_g"]["projection_dim"] if family.clip_g else None
    net = UNetNet(unet, placements["unet"], pooled)
    model = apply_prediction(DiffusionModel(net, latent_scale=family.latent_scale,
                                            name=family.name), prediction, zsnr)
    time_dim = configs["unet"].get("addition_time_embed_dim")
    text: dict[str, Placement] = {k: placements[k] for k in ("clip_l", "clip_g")
                                  if k in placements}
    return model, RealClip(family, clip_l, clip_g, text, time_dim), RealVae(
        vae, placements["vae"])


def load_file(path: Path, device: Any = "cpu", dtype: str = "fp32"
              ) -> tuple[DiffusionModel, RealClip, RealVae]:
    """(model, clip, vae) of a checkpoint file, computing on `device` in `dtype`."""
    state = read_state(path)
    try:
        family = detect_family(state)
        loaded = build(state, family, device, dtype)
    except ValueError as err:
        raise ValueError(f"{path.name}: {err}") from err
    loaded[0].name = path.name
    return loaded
