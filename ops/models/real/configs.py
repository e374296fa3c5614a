"""Architecture configs of a checkpoint, derived from its tensor shapes and key structure.

`derive(shapes, family)` reads a mapping from original-layout key to shape (no tensor data
needed: meta tensors or plain tuples do) and returns the diffusers `UNet2DConditionModel` and
`AutoencoderKL` configs and the transformers `CLIPTextConfig`s. Shapes tell the widths, depths,
resnets per level, which levels have attention and how many transformer blocks, linear or
convolutional projections, context, pooled and ADM sizes, time-embedding sizes, the text
encoders' vocabulary, width, depth, MLP width and length. The family's fixed rules cover what
they cannot: SD 1.x UNets use 8 heads, SDXL UNets and both CLIPs head dim 64, GroupNorm with
32 groups, CLIP-L uses quick-GELU and OpenCLIP bigG GELU, the VAE scaling factor.
`KNOWN` holds the full-size configs (SD 1.5, SDXL base 1.0, SDXL refiner 1.0) that real files
must reproduce (tests check it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .detect import UNET, VAE, Family

Shapes = Mapping[str, tuple[int, ...]]
HEAD_DIM = 64
SD1_HEADS = 8

KNOWN: dict[str, dict[str, dict[str, Any]]] = {
    "sd1": {
        "unet": {"sample_size": 64, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
                 "block_out_channels": [320, 640, 1280, 1280], "attention_head_dim": 8,
                 "cross_attention_dim": 768,
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                      "CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                    "CrossAttnUpBlock2D"]},
        "vae": {"sample_size": 512, "block_out_channels": [128, 256, 512, 512],
                "layers_per_block": 2, "latent_channels": 4, "scaling_factor": 0.18215,
                "down_block_types": ["DownEncoderBlock2D"] * 4,
                "up_block_types": ["UpDecoderBlock2D"] * 4},
        "clip_l": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                   "num_attention_heads": 12, "hidden_act": "quick_gelu", "vocab_size": 49408,
                   "max_position_embeddings": 77, "projection_dim": 768},
    },
    "sdxl": {
        "unet": {"sample_size": 128, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
                 "block_out_channels": [320, 640, 1280], "attention_head_dim": [5, 10, 20],
                 "cross_attention_dim": 2048, "transformer_layers_per_block": [1, 2, 10],
                 "use_linear_projection": True, "addition_embed_type": "text_time",
                 "addition_time_embed_dim": 256, "projection_class_embeddings_input_dim": 2816,
                 "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D",
                                      "CrossAttnDownBlock2D"],
                 "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]},
        "vae": {"sample_size": 1024, "block_out_channels": [128, 256, 512, 512],
                "layers_per_block": 2, "latent_channels": 4, "scaling_factor": 0.13025,
                "down_block_types": ["DownEncoderBlock2D"] * 4,
                "up_block_types": ["UpDecoderBlock2D"] * 4},
        "clip_l": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                   "num_attention_heads": 12, "hidden_act": "quick_gelu", "vocab_size": 49408,
                   "max_position_embeddings": 77, "projection_dim": 768},
        "clip_g": {"hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32,
                   "num_attention_heads": 20, "hidden_act": "gelu", "projection_dim": 1280,
                   "vocab_size": 49408, "max_position_embeddings": 77},
    },
    "sdxl_refiner": {
        "unet": {"sample_size": 128, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
                 "block_out_channels": [384, 768, 1536, 1536],
                 "attention_head_dim": [6, 12, 24, 24], "cross_attention_dim": 1280,
                 "transformer_layers_per_block": 4, "use_linear_projection": True,
                 "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
                 "projection_class_embeddings_input_dim": 2560,
                 "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D",
                                      "CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                    "UpBlock2D"]},
        "vae": {"sample_size": 1024, "block_out_channels": [128, 256, 512, 512],
                "layers_per_block": 2, "latent_channels": 4, "scaling_factor": 0.13025,
                "down_block_types": ["DownEncoderBlock2D"] * 4,
                "up_block_types": ["UpDecoderBlock2D"] * 4},
        "clip_g": {"hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32,
                   "num_attention_heads": 20, "hidden_act": "gelu", "projection_dim": 1280,
                   "vocab_size": 49408, "max_position_embeddings": 77},
    },
}


class LayoutError(ValueError):
    """The key structure is inconsistent with the architecture the family allows."""


def _sub(shapes: Shapes, prefix: str) -> dict[str, tuple[int, ...]]:
    return {k[len(prefix):]: tuple(v) for k, v in shapes.items() if k.startswith(prefix)}


def _indices(s: Mapping[str, Any], prefix: str) -> list[int]:
    """Sorted distinct integers n of keys `prefix + "n." …`."""
    pat = re.compile(re.escape(prefix) + r"(\d+)\.")
    return sorted({int(m.group(1)) for k in s if (m := pat.match(k))})


def _need(s: Mapping[str, tuple[int, ...]], key: str, prefix: str) -> tuple[int, ...]:
    """The shape of `prefix + key`, which the architecture cannot be derived without."""
    if key not in s:
        raise LayoutError(f"missing key {prefix + key!r}")
    return s[key]


def unet_config(shapes: Shapes, family: Family, pooled_dim: int | None = None) -> dict[str, Any]:
    """diffusers UNet2DConditionModel config from `model.diffusion_model.*` shapes."""
    s = _sub(shapes, UNET)
    c0, in_ch = _need(s, "input_blocks.0.0.weight", UNET)[:2]
    blocks = _indices(s, "input_blocks.")
    downs = [i for i in blocks if f"input_blocks.{i}.0.op.weight" in s]
    levels = len(downs) + 1
    per_level, rest = divmod(len(blocks) - 1 - len(downs), levels)
    if rest or per_level < 1:
        raise LayoutError(f"{UNET}input_blocks: {len(blocks)} blocks, {len(downs)} "
                          "downsamplers do not form equal levels")
    widths, depths = [], []
    for level in range(levels):
        first = 1 + level * (per_level + 1)
        widths.append(_need(s, f"input_blocks.{first}.0.out_layers.3.weight", UNET)[0])
        level_depths = {len(_indices(s, f"input_blocks.{first + j}.1.transformer_blocks."))
                        for j in range(per_level)}
        if len(level_depths) != 1:
            raise LayoutError(f"{UNET}input_blocks: level {level} mixes transformer depths")
        depths.append(level_depths.pop())
    up_depths = []
    for level in range(levels):
        first = level * (per_level + 1)
        up_depths.append(len(_indices(s, f"output_blocks.{first}.1.transformer_blocks.")))
    if up_depths[::-1] != depths:
        raise LayoutError(f"{UNET}output_blocks: transformer depths {up_depths} do not mirror "
                          f"the input blocks' {depths}")
    mid = len(_indices(s, "middle_block.1.transformer_blocks."))
    attn = [d > 0 for d in depths]
    if mid == 0 or (attn[-1] and depths[-1] != mid):
        raise LayoutError(f"{UNET}middle_block: transformer depth {mid} unsupported")
    attn_depths = {d for d in depths if d} | {mid}
    layers: int | list[int] = attn_depths.pop() if len(attn_depths) == 1 else [
        d if d else (mid if i == levels - 1 else 1) for i, d in enumerate(depths)]
    probe = next(k for k in s if k.endswith("transformer_blocks.0.attn2.to_k.weight"))
    proj_in = next(v for k, v in s.items() if k.endswith(".1.proj_in.weight"))
    cfg: dict[str, Any] = {
        "sample_size": family.sample_size, "in_channels": in_ch,
        "out_channels": s.get("out.2.weight", (in_ch,))[0], "layers_per_block": per_level,
        "block_out_channels": widths, "cross_attention_dim": s[probe][1],
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attn],
        "up_block_types": ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in attn[::-1]],
        "transformer_layers_per_block": layers, "use_linear_projection": len(proj_in) == 2,
        "norm_num_groups": 32,
    }
    if family.is_sdxl:
        cfg["attention_head_dim"] = [max(1, w // HEAD_DIM) for w in widths]
        adm = _need(s, "label_emb.0.0.weight", UNET)[1]
        if pooled_dim is None or (adm - pooled_dim) % family.time_ids:
            raise LayoutError(f"{UNET}label_emb: ADM width {adm} does not split into pooled "
                              f"{pooled_dim} + {family.time_ids} embedded time ids")
        cfg.update(addition_embed_type="text_time", projection_class_embeddings_input_dim=adm,
                   addition_time_embed_dim=(adm - pooled_dim) // family.time_ids)
    else:
        cfg["attention_head_dim"] = SD1_HEADS
    time_dim = s.get("time_embed.0.weight", (4 * c0,))[0]  # absent: strict loading says so
    if time_dim != 4 * c0:
        cfg["time_embedding_dim"] = time_dim
    return cfg


def vae_config(shapes: Shapes, family: Family) -> dict[str, Any]:
    """diffusers AutoencoderKL config from `first_stage_model.*` shapes."""
    s = _sub(shapes, VAE)
    in_ch = _need(s, "encoder.conv_in.weight", VAE)[1]
    levels = _indices(s, "encoder.down.")
    widths = [_need(s, f"encoder.down.{i}.block.0.conv2.weight", VAE)[0] for i in levels]
    z = _need(s, "decoder.conv_in.weight", VAE)[1]
    n = len(widths)
    return {
        "sample_size": family.sample_size * 8, "in_channels": in_ch,
        "out_channels": _need(s, "decoder.conv_out.weight", VAE)[0],
        "down_block_types": ["DownEncoderBlock2D"] * n, "up_block_types": ["UpDecoderBlock2D"] * n,
        "block_out_channels": widths, "latent_channels": z, "norm_num_groups": 32,
        "layers_per_block": len(_indices(s, "encoder.down.0.block.")),
        "scaling_factor": family.latent_scale,
    }


def clip_l_config(shapes: Shapes, prefix: str) -> dict[str, Any]:
    """transformers CLIPTextConfig of an OpenAI-layout CLIP text encoder under `prefix`."""
    where = prefix + "text_model."
    s = _sub(shapes, where)
    vocab, hidden = _need(s, "embeddings.token_embedding.weight", where)
    depth = len(_indices(s, "encoder.layers."))
    return _clip(vocab, hidden, depth, _need(s, "encoder.layers.0.mlp.fc1.weight", where)[0],
                 _need(s, "embeddings.position_embedding.weight", where)[0], "quick_gelu", hidden)


def clip_g_config(shapes: Shapes, prefix: str) -> dict[str, Any]:
    """transformers CLIPTextConfig of an OpenCLIP-layout text tower under `prefix`."""
    s = _sub(shapes, prefix)
    vocab, hidden = _need(s, "token_embedding.weight", prefix)
    depth = len(_indices(s, "transformer.resblocks."))
    return _clip(vocab, hidden, depth,
                 _need(s, "transformer.resblocks.0.mlp.c_fc.weight", prefix)[0],
                 _need(s, "positional_embedding", prefix)[0], "gelu",
                 _need(s, "text_projection", prefix)[1])


def _clip(vocab: int, hidden: int, depth: int, mlp: int, length: int, act: str,
          projection: int) -> dict[str, Any]:
    heads = max(1, hidden // HEAD_DIM)
    if hidden % heads:
        raise LayoutError(f"text encoder width {hidden} is not a multiple of head dim {HEAD_DIM}")
    return {"vocab_size": vocab, "hidden_size": hidden, "intermediate_size": mlp,
            "num_hidden_layers": depth, "num_attention_heads": heads,
            "max_position_embeddings": length, "hidden_act": act, "projection_dim": projection,
            "layer_norm_eps": 1e-5, "bos_token_id": 49406, "eos_token_id": 49407}


def derive(shapes: Shapes, family: Family) -> dict[str, dict[str, Any]]:
    """{"unet", "vae", "clip_l"?, "clip_g"?} configs of a checkpoint of `family`."""
    out: dict[str, dict[str, Any]] = {}
    if family.clip_l:
        out["clip_l"] = clip_l_config(shapes, family.clip_l)
    if family.clip_g:
        out["clip_g"] = clip_g_config(shapes, family.clip_g)
    pooled = out["clip_g"]["projection_dim"] if family.clip_g else None
    out["unet"] = unet_config(shapes, family, pooled)
    out["vae"] = vae_config(shapes, family)
    return out
