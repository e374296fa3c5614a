"""The CLIP port value of real checkpoints: prompts → context, pooled vector and SDXL's y.

- SD 1.x: CLIP-L's last hidden state (final layer norm applied), [1, 77·n, 768].
- SDXL base: CLIP-L and bigG *penultimate* hidden states without the final norm, concatenated
  (768 + 1280 = 2048); the pooled vector is bigG's projected pooled output
  (docs/semantics.md §12.1).
- SDXL refiner: bigG alone (1280), same pooled vector.
Prompts are read with ComfyUI's syntax and maths (docs/prompts.md, `ops/prompt/`): weights
`(text:1.2)`, `embedding:name` vectors from an `Embeddings` folder, 77-token chunks encoded in
one batch and joined along the token axis, weighted against the empty prompt; CLIP-L and bigG
chunk counts are evened out with empty-prompt chunks; the pooled vector is the first chunk's.
CLIP-L pads with 49407, bigG with 0.
y (docs/semantics.md §12.2) = [pooled | e(height) e(width) e(crop_h) e(crop_w) e(target_height)
e(target_width)] for the base and [pooled | e(height) e(width) e(crop_h) e(crop_w)
e(aesthetic)] for the refiner, e = the UNet's sinusoidal embedding (cos, sin) of width
`time_dim` (256 in real files). Conditioning tensors come back as float32 on the encoder's
device.
`layer` (CLIPSetLastLayer's stop_at_clip_layer, ComfyUI's `SDClipModel.set_clip_options`): a
negative k with |k| ≤ the encoder's depth takes hidden state k (transformers' hidden_states[k],
the output of block depth+k) of every encoder, layer-normed on SD 1.x and not on SDXL; a
larger |k| takes the normed last state. None keeps the family's default above. The pooled
vector always comes from the final layer.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Sequence
from typing import Any

import torch

from ...prompt.embeddings import Embeddings
from ...prompt.tokens import Chunk, Special, empty_chunk, tokenize
from ...prompt.weighting import encode_chunks, token_inputs
from .detect import Family
from .devices import Placement
from .inject import injecting
from .tokenizer import BOS, CONTEXT_LEN, EOS, shared

DEFAULT_SIZE = 1024  # sizes of `text.encode` on SDXL, which has no size params
SPECIAL = {"clip_l": Special(BOS, EOS, EOS, CONTEXT_LEN),
           "clip_g": Special(BOS, EOS, 0, CONTEXT_LEN)}


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

    def _chunks(self, which: str, text: str, embeddings: Embeddings | None) -> list[Chunk]:
        """`text` as weighted chunks for encoder `which` (embeddings looked up at its width)."""
        if embeddings is None:
            return tokenize(text, shared().encode, SPECIAL[which])
        width = self._model(which).config.hidden_size
        return tokenize(text, shared().encode, SPECIAL[which], embeddings.lookup(which, width),
                        embeddings.missing)

    def _model(self, which: str) -> Any:
        return self.clip_l if which == "clip_l" else self.clip_g

    @torch.no_grad()
    def _run(self, which: str, chunks: list[Chunk], embeddings: Embeddings | None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        model = self._model(which)
        layer, norm = self._select(which)
        device, _dtype = self.placements[which].use()
        width = model.config.hidden_size
        warn = embeddings.warn if embeddings is not None else None

        def forward(batch: list[Chunk]) -> tuple[torch.Tensor, torch.Tensor]:
            ids, where, vectors = token_inputs(batch, width, SPECIAL[which].pad, 0, warn)
            with injecting(model, where, vectors) if where else contextlib.nullcontext():
                out = model(torch.tensor(ids, device=device), output_hidden_states=True)
            hidden = out.hidden_states[layer]
            if norm:
                hidden = getattr(model, "text_model", model).final_layer_norm(hidden)
            return hidden, out.text_embeds if which == "clip_g" else out.pooler_output

        return encode_chunks(chunks, SPECIAL[which], forward)

    def _context(self, text_l: str, text_g: str, embeddings: Embeddings | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.family
        if not f.is_sdxl:
            return self._run("clip_l", self._chunks("clip_l", text_l, embeddings), embeddings)
        ids_g = self._chunks("clip_g", text_g, embeddings)
        if not f.clip_l:
            return self._run("clip_g", ids_g, embeddings)
        ids_l = self._chunks("clip_l", text_l, embeddings)
        n = max(len(ids_l), len(ids_g))  # even out with empty-prompt chunks (ComfyUI)
        ids_l += [empty_chunk(SPECIAL["clip_l"])] * (n - len(ids_l))
        ids_g += [empty_chunk(SPECIAL["clip_g"])] * (n - len(ids_g))
        g, pooled = self._run("clip_g", ids_g, embeddings)
        l_ctx, _ = self._run("clip_l", ids_l, embeddings)
        return torch.cat([l_ctx, g], dim=-1), pooled

    def _y(self, pooled: torch.Tensor, values: Sequence[float]) -> torch.Tensor:
        assert self.time_dim is not None
        emb = time_embedding(values, self.time_dim).to(pooled.device)
        return torch.cat([pooled, emb], dim=-1)

    def encode(self, text: str, embeddings: Embeddings | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(context [1, 77·n, D], pooled [1, P]) of one prompt (CLIPTextEncode)."""
        return self._context(text, text, embeddings)

    def encode_entry(self, text: str, embeddings: Embeddings | None = None) -> list[Any]:
        """One conditioning entry for `text.encode`: SDXL models also get y, with sizes
        1024×1024, no crop (and aesthetic score 6 for the refiner)."""
        if self.family.name == "sdxl":
            return self.encode_sdxl(text, text, DEFAULT_SIZE, DEFAULT_SIZE, 0, 0,
                                    DEFAULT_SIZE, DEFAULT_SIZE, embeddings)
        if self.family.name == "sdxl_refiner":
            return self.encode_sdxl_refiner(text, 6.0, DEFAULT_SIZE, DEFAULT_SIZE, embeddings)
        context, pooled = self.encode(text, embeddings)
        return [context, {"pooled_output": pooled}]

    def encode_sdxl(self, text_g: str, text_l: str, width: int, height: int, crop_w: int,
                    crop_h: int, target_width: int, target_height: int,
                    embeddings: Embeddings | None = None) -> list[Any]:
        """SDXL base conditioning entry (CLIPTextEncodeSDXL): context, pooled, y [1, P+6e]."""
        if self.family.name != "sdxl":
            raise ValueError(f"text.encode_sdxl needs an SDXL base text encoder, this is "
                             f"{self.family.name}")
        context, pooled = self._context(text_l, text_g, embeddings)
        sizes = {"width": width, "height": height, "crop_w": crop_w, "crop_h": crop_h,
                 "target_width": target_width, "target_height": target_height}
        y = self._y(pooled, [height, width, crop_h, crop_w, target_height, target_width])
        return [context, {"pooled_output": pooled, "y": y, **sizes}]

    def encode_sdxl_refiner(self, text: str, aesthetic_score: float, width: int,
                            height: int, embeddings: Embeddings | None = None) -> list[Any]:
        """SDXL refiner conditioning entry (CLIPTextEncodeSDXLRefiner): y [1, P+5e]."""
        if self.family.name != "sdxl_refiner":
            raise ValueError(f"text.encode_sdxl_refiner needs an SDXL refiner text encoder, "
                             f"this is {self.family.name}")
        context, pooled = self._context(text, text, embeddings)
        y = self._y(pooled, [height, width, 0, 0, aesthetic_score])
        return [context, {"pooled_output": pooled, "y": y, "aesthetic_score": aesthetic_score,
                          "width": width, "height": height}]

    def to(self, device: Any) -> RealClip:
        """Encode on `device` from now on (in place; returns self)."""
        for placement in self.placements.values():
            placement.move(device)
        return self
