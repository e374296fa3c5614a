"""Tiny seeded random-weight SD 1.5, SDXL base and SDXL refiner models, in both layouts.

Every tensor is randomized (norm weights around 1, the rest scaled by 1/√fan-in), so a wrong
key mapping cannot hide behind identical initial values. The configs follow the families'
fixed rules (SD 1.x UNets 8 heads, SDXL head dim 64 → one head at these widths; CLIP head dim
64), so the loader, which derives everything else from shapes, rebuilds the same models.
Text encoders use the real 49,408-token vocabulary. `to_original` writes the original
single-file key layout with the inverse mapping in `reverse.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from tests.real.reverse import clip_g_to_ldm, clip_l_to_ldm, unet_to_ldm, vae_to_ldm

VOCAB = 49408
CLIP_L = {"vocab_size": VOCAB, "hidden_size": 64, "intermediate_size": 128,
          "num_hidden_layers": 3, "num_attention_heads": 1, "max_position_embeddings": 77,
          "hidden_act": "quick_gelu", "projection_dim": 64, "bos_token_id": 49406,
          "eos_token_id": 49407}
CLIP_G = {**CLIP_L, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 3,
          "num_attention_heads": 2, "hidden_act": "gelu", "projection_dim": 96}


def _vae(scale: float) -> dict[str, Any]:
    return {"in_channels": 3, "out_channels": 3, "block_out_channels": [32, 32, 64, 64],
            "down_block_types": ["DownEncoderBlock2D"] * 4,
            "up_block_types": ["UpDecoderBlock2D"] * 4, "layers_per_block": 1,
            "latent_channels": 4, "norm_num_groups": 32, "scaling_factor": scale}


CONFIGS: dict[str, dict[str, Any]] = {
    "sd1": {
        "unet": {"sample_size": 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
                 "block_out_channels": [32, 64], "cross_attention_dim": 64,
                 "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
                 "attention_head_dim": 8, "norm_num_groups": 32},
        "vae": _vae(0.18215), "clip_l": CLIP_L,
    },
    "sdxl": {
        "unet": {"sample_size": 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
                 "block_out_channels": [32, 64], "cross_attention_dim": 64 + 128,
                 "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
                 "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
                 "transformer_layers_per_block": [1, 2], "attention_head_dim": [1, 1],
                 "use_linear_projection": True, "addition_embed_type": "text_time",
                 "addition_time_embed_dim": 8,
                 "projection_class_embeddings_input_dim": 96 + 6 * 8, "norm_num_groups": 32},
        "vae": _vae(0.13025), "clip_l": CLIP_L, "clip_g": CLIP_G,
    },
    "sdxl_refiner": {
        "unet": {"sample_size": 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
                 "block_out_channels": [32, 64, 64], "cross_attention_dim": 128,
                 "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                 "transformer_layers_per_block": 2, "attention_head_dim": [1, 1, 1],
                 "use_linear_projection": True, "addition_embed_type": "text_time",
                 "addition_time_embed_dim": 8,
                 "projection_class_embeddings_input_dim": 96 + 5 * 8, "norm_num_groups": 32},
        "vae": _vae(0.13025), "clip_g": CLIP_G,
    },
}
PREFIXES = {"sd1": {"clip_l": "cond_stage_model.transformer."},
            "sdxl": {"clip_l": "conditioner.embedders.0.transformer.",
                     "clip_g": "conditioner.embedders.1.model."},
            "sdxl_refiner": {"clip_g": "conditioner.embedders.0.model."}}
FILES = {"sd1": "tiny_sd15.safetensors", "sdxl": "tiny_sdxl.safetensors",
         "sdxl_refiner": "tiny_sdxl_refiner.safetensors"}


@dataclass
class Tiny:
    """The modules of one tiny model, its configs, and its original-layout state dict."""

    family: str
    modules: dict[str, Any]
    configs: dict[str, Any]
    original: dict[str, torch.Tensor] = field(default_factory=dict)


def randomize(module: torch.nn.Module, gen: torch.Generator) -> None:
    """Overwrite every parameter: norms ≈ 1 ± 0.1, biases ± 0.1, weights N(0, 1/fan-in)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif p.ndim == 1:
                p.copy_(0.1 * noise)
            else:
                p.copy_(noise / max(p[0].numel(), 1) ** 0.5)


def make_modules(family: str, configs: dict[str, Any], device: str = "cpu") -> dict[str, Any]:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with torch.device(device):
        out: dict[str, Any] = {"unet": UNet2DConditionModel(**configs["unet"]),
                               "vae": AutoencoderKL(**configs["vae"])}
        if "clip_l" in configs:
            out["clip_l"] = CLIPTextModel(CLIPTextConfig(**configs["clip_l"]))
        if "clip_g" in configs:
            out["clip_g"] = CLIPTextModelWithProjection(CLIPTextConfig(**configs["clip_g"]))
    return {k: m.eval() for k, m in out.items()}


def to_original(family: str, modules: dict[str, Any], configs: dict[str, Any]
                ) -> dict[str, torch.Tensor]:
    """The single-file state dict of `modules` in the original layout."""
    sd = {**unet_to_ldm(modules["unet"].state_dict(), configs["unet"]),
          **vae_to_ldm(modules["vae"].state_dict(), configs["vae"])}
    prefixes = PREFIXES[family]
    if "clip_l" in modules:
        sd.update(clip_l_to_ldm(modules["clip_l"].state_dict(), prefixes["clip_l"]))
    if "clip_g" in modules:
        sd.update(clip_g_to_ldm(modules["clip_g"].state_dict(), prefixes["clip_g"]))
    return sd


def build_tiny(family: str, seed: int) -> Tiny:
    gen = torch.Generator().manual_seed(seed)
    configs = CONFIGS[family]
    modules = make_modules(family, configs)
    for name in sorted(modules):
        randomize(modules[name], gen)
    original = {k: v.contiguous().clone() for k, v in to_original(family, modules,
                                                                  configs).items()}
    original["alphas_cumprod"] = torch.linspace(0.99, 0.01, 1000)  # a non-model key, ignored
    return Tiny(family, modules, configs, original)
