"""Encoding weighted chunks: ComfyUI's weighting against the empty prompt (docs/prompts.md §2).

When any token's weight w ≠ 1, the empty prompt's chunk (start, end, padding) is encoded in
the same batch as the prompt's chunks, and every token of weight w ≠ 1 becomes
    z[k, j] = (z[k, j] − z_empty[j])·w + z_empty[j]
(tokens of weight 1 are left bit for bit). Chunks are then joined along the token axis. The
pooled vector is the first chunk's, unweighted. Embedding vectors enter a transformer through
its token-embedding layer (`token_inputs`): a vector whose width is not the encoder's is left
out of its chunk, the chunk padded at its end and the weights kept by position, as ComfyUI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .tokens import Chunk, Embedded, Special, empty_chunk, weighted

Forward = Callable[[list[Chunk]], tuple[torch.Tensor, torch.Tensor]]


def apply_weights(z: torch.Tensor, z_empty: torch.Tensor, weights: torch.Tensor
                  ) -> torch.Tensor:
    """z [n, T, D], z_empty [T, D], weights [n, T]: (z − z_empty)·w + z_empty where w ≠ 1."""
    w = weights.to(device=z.device, dtype=z.dtype)[..., None]
    return torch.where(w != 1, (z - z_empty) * w + z_empty, z)


def encode_chunks(chunks: list[Chunk], special: Special, forward: Forward
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(context [1, n·T, D] float32, pooled [1, P] float32) of weighted chunks; `forward`
    maps a batch of chunks to (hidden states [m, T, D], pooled [m, P])."""
    has_weights = weighted(chunks)
    batch = [*chunks, empty_chunk(special)] if has_weights else chunks
    hidden, pooled = forward(batch)
    z = hidden.float()
    if has_weights:
        weights = torch.tensor([[w for _, w in chunk] for chunk in chunks])
        z = apply_weights(z[:-1], z[-1], weights)
    return z.reshape(1, -1, z.shape[-1]), pooled[:1].float()


def token_inputs(batch: list[Chunk], width: int, pad: int, placeholder: int,
                 warn: Callable[[str], None] | None = None
                 ) -> tuple[list[list[int]], list[tuple[int, int]], list[Any]]:
    """(ids, positions (row, column) of embedding vectors, those vectors) of a batch for a
    transformer of width `width`: each vector's id is `placeholder` (never the end token, so
    pooling still finds the first end token) and its token embedding is replaced by the vector."""
    ids: list[list[int]] = []
    where: list[tuple[int, int]] = []
    found: list[Any] = []
    for row, chunk in enumerate(batch):
        out: list[int] = []
        for token, _ in chunk:
            if not isinstance(token, Embedded):
                out.append(token)
            elif token.vector.shape[-1] == width:
                where.append((row, len(out)))
                found.append(token.vector)
                out.append(placeholder)
            elif warn is not None:
                warn(f"embedding:{token.name} has vectors of width {token.vector.shape[-1]}, "
                     f"this text encoder takes {width}; ignored")
        ids.append(out + [pad] * (len(chunk) - len(out)))
    return ids, where, found
