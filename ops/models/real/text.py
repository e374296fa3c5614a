"""The CLIP port value of real checkpoints: prompts → context, pooled vector and SDXL's y.

- SD 1.x: CLIP-L's last hidden state (final layer norm applied), [1, 77·n, 768].
- SDXL base: CLIP-L and bigG *penultimate* hidden states without the final norm, concatenated
  (768 + 1280 = 2048); the pooled vector is bigG's projected pooled output
  (docs/semantics.md §12.1).
- SDXL refiner: bigG alone (1280), same pooled vector.
Prompts longer than 75 tokens are split into 77-token chunks encoded separately and
concatenated along the token axis; CLIP-L and bigG chunk counts are evened out with empty
chunks; the pooled vector comes from the first chunk. CLIP-L pads with 49407, bigG with 0.
y (docs/semantics.md §12.2) = [pooled | e(height) e(width) e(crop_h) e(crop_w) e(target_height)
e(target_width)] for the base and [pooled | e(height) e(width) e(crop_h) e(crop_w)
e(aesthetic)] for the refiner, e = the UNet's sinusoidal embedding (cos, sin) of width
`time_dim` (256 in real files). Conditioning tensors come back as float32 on the encoder's
device. Prompt weighting syntax "(word:1.2)" is not interpreted.
`layer` (CLIPSetLastLayer's stop_at_clip_layer, ComfyUI's `SDClipModel.set_clip_options`): a
negative k with |k| ≤ the encoder's depth takes hidden state k (transformers' hidden_states[k],
the output of block depth+k) of every encoder, layer-normed on SD 1.x and not on SDXL; a
larger |k| takes the normed last state. None keeps the family's default above. The pooled
vector always comes from the final layer.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch

from .detect import Family
from .devices import Placement
from .tokenizer import EOS, shared

DEFAULT_SIZE = 1024  # sizes of `text.encode` on SDXL, which has no size params


def time_embedding(values: Sequence[float], dim: int) -> torch.Tensor:
    """[1, len·dim]: per value, cos then sin of v·10000^(−i/(dim/2)), i < dim/2 (as
    diffusers' `Timesteps(dim, flip_sin_to_cos=True, downscale_freq_shift=0)`)."""
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(0, half, dtype=torch.float32) / half
    args = torch.tensor(values, dtype=torch.float32)[:, None] * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1).reshape(1, -1)


class RealClip:
    """Text encoder(s) of an SD 1.x, SDXL base or SDXL refiner checkpoint."""

    def __init__(self, family: Family, clip_l: Any, clip_g: Any,
                 placements: dict[str, Placement], time_dim: int | None,
                 layer: int | None = None) -> None:
        self.family, self.clip_l, self.clip_g = family, clip_l, clip_g
        self.placements, self.time_dim, self.layer = placements, time_dim, layer

    def with_layer(self, layer: int | None) -> RealClip:
        """A new CLIP sharing these encoders that encodes from hidden state `layer` (< 0)."""
        out = copy.copy(self)
        out.layer = layer
        return out

    def with_clip_skip(self, layers: int) -> RealClip:
        """A view encoding from hidden state −`layers` (1 = last)."""
        return self.with_layer(-layers)

    def _select(self, which: str) -> tuple[int, bool]:
        """(hidden state index, final norm?) of encoder `which` (ComfyUI's layer options)."""
        model = self.clip_l if which == "clip_l" else self.clip_g
        depth: int = model.config.num_hidden_layers
        sdxl = self.family.is_sdxl
        if self.layer is None:
            return (-2, False) if sdxl else (-1, True)
        if abs(self.layer) > depth:
            return -1, True
        return self.layer, not sdxl

    @torch.no_grad()
    def _run(self, which: str, ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.clip_l if which == "clip_l" else self.clip_g
        layer, norm = self._select(which)
        device, _dtype = self.placements[which].use()
        out = model(torch.tensor(ids, device=device), output_hidden_states=True)
        hidden = out.hidden_states[layer]
        if norm:
            inner = getattr(model, "text_model", model)
            hidden = inner.final_layer_norm(hidden)
        pooled = out.text_embeds if which == "clip_g" else out.pooler_output
        context = hidden.reshape(1, -1, hidden.shape[-1]).float()
        return context, pooled[:1].float()

    def _chunks(self, text_l: str | None, text_g: str | None) -> tuple[Any, Any]:
        tok = shared()
        ids_l = tok.chunks(text_l, pad=EOS) if text_l is not None else None
        ids_g = tok.chunks(text_g, pad=0) if text_g is not None else None
        if ids_l is not None and ids_g is not None:
            n = max(len(ids_l), len(ids_g))
            ids_l += tok.chunks("", pad=EOS) * (n - len(ids_l))
            ids_g += tok.chunks("", pad=0) * (n - len(ids_g))
        return ids_l, ids_g

    def _context(self, text_l: str, text_g: str) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.family
        if not f.is_sdxl:
            ids, _ = self._chunks(text_l, None)
            return self._run("clip_l", ids)
        ids_l, ids_g = self._chunks(text_l if f.clip_l else None, text_g)
        g, pooled = self._run("clip_g", ids_g)
        if not f.clip_l:
            return g, pooled
        l_ctx, _ = self._run("clip_l", ids_l)
        return torch.cat([l_ctx, g], dim=-1), pooled

    def _y(self, pooled: torch.Tensor, values: Sequence[float]) -> torch.Tensor:
        assert self.time_dim is not None
        emb = time_embedding(values, self.time_dim).to(pooled.device)
        return torch.cat([pooled, emb], dim=-1)

    def encode(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(context [1, 77·n, D], pooled [1, P]) of one prompt (CLIPTextEncode)."""
        return self._context(text, text)

    def encode_entry(self, text: str) -> list[Any]:
        """One conditioning entry for `text.encode`: SDXL models also get y, with sizes
        1024×1024, no crop (and aesthetic score 6 for the refiner)."""
        if self.family.name == "sdxl":
            return self.encode_sdxl(text, text, DEFAULT_SIZE, DEFAULT_SIZE, 0, 0,
                                    DEFAULT_SIZE, DEFAULT_SIZE)
        if self.family.name == "sdxl_refiner":
            return self.encode_sdxl_refiner(text, 6.0, DEFAULT_SIZE, DEFAULT_SIZE)
        context, pooled = self.encode(text)
        return [context, {"pooled_output": pooled}]

    def encode_sdxl(self, text_g: str, text_l: str, width: int, height: int, crop_w: int,
                    crop_h: int, target_width: int, target_height: int) -> list[Any]:
        """SDXL base conditioning entry (CLIPTextEncodeSDXL): context, pooled, y [1, P+6e]."""
        if self.family.name != "sdxl":
            raise ValueError(f"text.encode_sdxl needs an SDXL base text encoder, this is "
                             f"{self.family.name}")
        context, pooled = self._context(text_l, text_g)
        sizes = {"width": width, "height": height, "crop_w": crop_w, "crop_h": crop_h,
                 "target_width": target_width, "target_height": target_height}
        y = self._y(pooled, [height, width, crop_h, crop_w, target_height, target_width])
        return [context, {"pooled_output": pooled, "y": y, **sizes}]

    def encode_sdxl_refiner(self, text: str, aesthetic_score: float, width: int,
                            height: int) -> list[Any]:
        """SDXL refiner conditioning entry (CLIPTextEncodeSDXLRefiner): y [1, P+5e]."""
        if self.family.name != "sdxl_refiner":
            raise ValueError(f"text.encode_sdxl_refiner needs an SDXL refiner text encoder, "
                             f"this is {self.family.name}")
        context, pooled = self._context(text, text)
        y = self._y(pooled, [height, width, 0, 0, aesthetic_score])
        return [context, {"pooled_output": pooled, "y": y, "aesthetic_score": aesthetic_score,
                          "width": width, "height": height}]

    def to(self, device: Any) -> RealClip:
        """Encode on `device` from now on (in place; returns self)."""
        for placement in self.placements.values():
            placement.move(device)
        return self
