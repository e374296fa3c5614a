"""diffusers/transformers state dicts → the original CompVis/SGM single-file key layout.

The inverse of diffusers' single-file conversion, written from the layouts themselves (test
code: it builds the fixture files, so the loader's forward conversion is checked against an
independent mapping). Works on real tensors and on meta tensors (shapes only).
"""

from __future__ import annotations

import re
from typing import Any

import torch

RESNET = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
          ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"),
          ("conv_shortcut", "skip_connection")]
UNET_FIXED = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
              "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
              "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}


def _resnet(rest: str) -> str:
    for new, old in RESNET:
        if rest.startswith(new + "."):
            return old + rest[len(new):]
    raise KeyError(rest)


def unet_to_ldm(sd: dict[str, Any], config: Any) -> dict[str, Any]:
    """UNet2DConditionModel state dict → `model.diffusion_model.*`."""
    per = config["layers_per_block"]
    attn_up = [t.startswith("CrossAttn") for t in config["up_block_types"]]
    out = {}
    for key, value in sd.items():
        module, _, param = key.rpartition(".")
        if module in UNET_FIXED:
            new = f"{UNET_FIXED[module]}.{param}"
        elif m := re.match(r"down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"input_blocks.{1 + b * (per + 1) + j}.0.{_resnet(rest)}"
        elif m := re.match(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"input_blocks.{1 + b * (per + 1) + j}.1.{rest}"
        elif m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
            new = f"input_blocks.{(int(m[1]) + 1) * (per + 1)}.0.op.{m[2]}"
        elif m := re.match(r"mid_block\.resnets\.(\d+)\.(.*)", key):
            new = f"middle_block.{2 * int(m[1])}.{_resnet(m[2])}"
        elif m := re.match(r"mid_block\.attentions\.0\.(.*)", key):
            new = f"middle_block.1.{m[1]}"
        elif m := re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"output_blocks.{b * (per + 1) + j}.0.{_resnet(rest)}"
        elif m := re.match(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.*)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"output_blocks.{b * (per + 1) + j}.1.{rest}"
        elif m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
            b = int(m[1])
            new = f"output_blocks.{b * (per + 1) + per}.{2 if attn_up[b] else 1}.conv.{m[2]}"
        else:
            raise KeyError(f"no original name for UNet key {key!r}")
        out["model.diffusion_model." + new] = value
    return out


VAE_ATTN = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _nin(rest: str) -> str:
    return rest.replace("conv_shortcut", "nin_shortcut")


def vae_to_ldm(sd: dict[str, Any], config: Any) -> dict[str, Any]:
    """AutoencoderKL state dict → `first_stage_model.*` (attention projections as 1×1 convs)."""
    n = len(config["block_out_channels"])
    out = {}
    for key, value in sd.items():
        new = key.replace("conv_norm_out", "norm_out")
        if m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", key):
            new = f"{m[1]}.mid.block_{int(m[2]) + 1}.{_nin(m[3])}"
        elif m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)\.(weight|bias)",
                           key):
            new = f"{m[1]}.mid.attn_1.{VAE_ATTN[m[2]]}.{m[3]}"
            if m[3] == "weight" and m[2] != "group_norm":
                value = value[:, :, None, None]
        elif m := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            new = f"encoder.down.{m[1]}.block.{m[2]}.{_nin(m[3])}"
        elif m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
            new = f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
        elif m := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
            new = f"decoder.up.{n - 1 - int(m[1])}.block.{m[2]}.{_nin(m[3])}"
        elif m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
            new = f"decoder.up.{n - 1 - int(m[1])}.upsample.conv.{m[2]}"
        out["first_stage_model." + new] = value
    return out


def clip_l_to_ldm(sd: dict[str, Any], prefix: str) -> dict[str, Any]:
    """transformers 5 CLIPTextModel state dict → OpenAI layout under `prefix` (with the
    position_ids buffer real files carry)."""
    out = {f"{prefix}text_model.{k}": v for k, v in sd.items()}
    length = sd["embeddings.position_embedding.weight"].shape[0]
    device = sd["embeddings.position_embedding.weight"].device
    out[f"{prefix}text_model.embeddings.position_ids"] = torch.arange(
        length, device=device)[None]
    return out


OPEN_CLIP = [("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"),
             ("mlp.fc2", "mlp.c_proj"), ("self_attn.out_proj", "attn.out_proj")]


def clip_g_to_ldm(sd: dict[str, Any], prefix: str) -> dict[str, Any]:
    """CLIPTextModelWithProjection state dict → OpenCLIP layout under `prefix` (q/k/v fused
    into in_proj, projection transposed, plus logit_scale as real files have)."""
    out: dict[str, Any] = {}
    qkv: dict[tuple[int, str], dict[str, Any]] = {}
    fixed = {"text_model.embeddings.token_embedding.weight": "token_embedding.weight",
             "text_model.embeddings.position_embedding.weight": "positional_embedding",
             "text_model.final_layer_norm.weight": "ln_final.weight",
             "text_model.final_layer_norm.bias": "ln_final.bias"}
    for key, value in sd.items():
        if key in fixed:
            out[prefix + fixed[key]] = value
        elif key == "text_projection.weight":
            out[prefix + "text_projection"] = value.T.contiguous()
        elif m := re.match(r"text_model\.encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(\w+)",
                           key):
            qkv.setdefault((int(m[1]), m[3]), {})[m[2]] = value
        elif m := re.match(r"text_model\.encoder\.layers\.(\d+)\.(.*)", key):
            rest = m[2]
            for new, old in OPEN_CLIP:
                rest = rest.replace(new, old)
            out[f"{prefix}transformer.resblocks.{m[1]}.{rest}"] = value
        else:
            raise KeyError(f"no OpenCLIP name for {key!r}")
    for (layer, kind), parts in qkv.items():
        fused = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
        out[f"{prefix}transformer.resblocks.{layer}.attn.in_proj_{kind}"] = fused
    device = sd["text_projection.weight"].device
    out[prefix + "logit_scale"] = torch.tensor(4.6052, device=device)
    return out
