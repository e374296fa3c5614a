"""Textual-inversion vectors fed to a transformers CLIP text model without changing it.

ComfyUI appends embedding vectors to a copy of the token-embedding table and gives them new
ids. Here the model is shared (the memory store hands the same encoder to every node), so it
is never modified: a forward hook on its token-embedding layer, installed once, replaces the
looked-up rows at given (row, column) positions with the given vectors, during `injecting`
only, in this thread or task (a context variable). Positions carry a placeholder id that is
not the end token, so transformers' pooling (first end token) is unchanged. The rows that
follow are the same numbers the extended table would give.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

_ACTIVE: ContextVar[tuple[list[tuple[int, int]], list[Any]] | None] = ContextVar(
    "graphrt_embedding_rows", default=None)


def _replace_rows(module: torch.nn.Module, args: Any, output: torch.Tensor) -> Any:
    active = _ACTIVE.get()
    if active is None or not active[0]:
        return None
    where, vectors = active
    out = output.clone()
    rows = torch.tensor([r for r, _ in where], device=out.device)
    cols = torch.tensor([c for _, c in where], device=out.device)
    out[rows, cols] = torch.stack(list(vectors)).to(device=out.device, dtype=out.dtype)
    return out


def token_embedding(model: Any) -> torch.nn.Module:
    """The token-embedding layer of a CLIPTextModel or CLIPTextModelWithProjection."""
    inner = getattr(model, "text_model", model)
    layer: torch.nn.Module = inner.embeddings.token_embedding
    return layer


@contextmanager
def injecting(model: Any, where: Sequence[tuple[int, int]], vectors: Sequence[Any]
              ) -> Iterator[None]:
    """While open, `model`'s token embeddings at `where` ([row, column] of the input ids)
    are `vectors`."""
    layer = token_embedding(model)
    if _replace_rows not in layer._forward_hooks.values():
        layer.register_forward_hook(_replace_rows)
    token = _ACTIVE.set((list(where), list(vectors)))
    try:
        yield
    finally:
        _ACTIVE.reset(token)
