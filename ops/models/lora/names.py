"""The names a LoRA key may give a layer, per component ("unet", "clip_l", "clip_g").

Targets are modules with a `weight` parameter, named as in the diffusers / transformers
modules (`down_blocks.0.attentions.0.proj_in`, `text_model.encoder.layers.0.self_attn.q_proj`).
kohya names are those with "." replaced by "_". Text encoder names may carry `text_model.`
(LoRA files do; transformers 5's CLIPTextModel has no such wrapper). The UNet also answers
to the original LDM names kohya uses for SDXL (`input_blocks.4.1.transformer_blocks.0.attn1.
to_q`), derived from the UNet's config as the inverse of diffusers' single-file conversion.
"""

from __future__ import annotations

import re
from typing import Any

import torch

RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
          ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"),
          ("conv_shortcut", "skip_connection"))
FIXED = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
         "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
         "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}


def weighted(module: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Every submodule with a `weight` parameter, by its dotted name."""
    return {name: m for name, m in module.named_modules()
            if isinstance(m._parameters.get("weight"), torch.Tensor)}


def _resnet(rest: str) -> str | None:
    for new, old in RESNET:
        if rest == new or rest.startswith(new + "."):
            return old + rest[len(new):]
    return None


def ldm_name(name: str, config: Any) -> str | None:
    """The original (LDM) name of a diffusers UNet module, or None."""
    per = config["layers_per_block"]
    if not isinstance(per, int):
        return None
    attn_up = [t.startswith("CrossAttn") for t in config["up_block_types"]]
    if name in FIXED:
        return FIXED[name]
    if m := re.fullmatch(r"(down|up)_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", name):
        rest = _resnet(m[4])
        b, j = int(m[2]), int(m[3])
        block = f"input_blocks.{1 + b * (per + 1) + j}" if m[1] == "down" \
            else f"output_blocks.{b * (per + 1) + j}"
        return None if rest is None else f"{block}.0.{rest}"
    if m := re.fullmatch(r"(down|up)_blocks\.(\d+)\.attentions\.(\d+)\.(.*)", name):
        b, j = int(m[2]), int(m[3])
        block = f"input_blocks.{1 + b * (per + 1) + j}" if m[1] == "down" \
            else f"output_blocks.{b * (per + 1) + j}"
        return f"{block}.1.{m[4]}"
    if m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv", name):
        return f"input_blocks.{(int(m[1]) + 1) * (per + 1)}.0.op"
    if m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv", name):
        b = int(m[1])
        return f"output_blocks.{b * (per + 1) + per}.{2 if attn_up[b] else 1}.conv"
    if m := re.fullmatch(r"mid_block\.resnets\.(\d+)\.(.*)", name):
        rest = _resnet(m[2])
        return None if rest is None else f"middle_block.{2 * int(m[1])}.{rest}"
    if m := re.fullmatch(r"mid_block\.attentions\.0\.(.*)", name):
        return f"middle_block.1.{m[1]}"
    return None


def aliases(component: str, module: torch.nn.Module) -> dict[str, str]:
    """Every accepted spelling of a target module's name → its dotted name: the name itself,
    the kohya spelling ("." → "_") and, for the UNet, the LDM name in both spellings."""
    out: dict[str, str] = {}
    config = getattr(module, "config", None)
    for name in weighted(module):
        spellings = [name]
        if component != "unet" and not name.startswith(("text_model.", "text_projection")):
            spellings.append("text_model." + name)  # transformers 5 CLIPTextModel: no wrapper
        if component == "unet" and config is not None:
            ldm = ldm_name(name, config)
            if ldm is not None:
                spellings.append(ldm)
        for s in spellings:
            out[s] = name
            out[s.replace(".", "_")] = name
    return out
