"""The toy text encoder: prompt words → one-hot token rows shaped like CLIP's output.

`encode(text)` returns `context` [1, 77·n, CONTEXT_DIM] and `pooled` [1, CONTEXT_DIM]. Each
77-row chunk is `<bos>`, up to 75 vocabulary tokens, `<eos>`, then `<eos>` padding (as SD1's
tokenizer pads); row r is the one-hot vector of its token id (`vocab.TOKENS`). Unknown words
are dropped before tokenizing, so "a red circle" and "red circle" encode identically.
`pooled` is the mean of the word rows (zeros for an empty prompt); the toy UNet ignores it.
Prompts follow SD 1.x's syntax and maths (docs/prompts.md): `(red:1.3)` weighs a word's row
against the empty prompt's row at its position (`<eos>`), w·e_word + (1 − w)·e_eos, so the UNet
still reads a word of weight > 0.5 and drops one of weight ≤ 0.5; an `embedding:name` file's
64-wide vectors (key `clip_l`, else its first tensor) are rows of their own.
`read_context` inverts the encoding, and is robust to a context repeated along the token axis
(as batching conditionings of different lengths does).
"""

from __future__ import annotations

from typing import Any

import torch

from ...prompt.embeddings import Embeddings
from ...prompt.tokens import Chunk, Special, tokenize
from ...prompt.weighting import encode_chunks, token_inputs
from .prompt import words
from .vocab import BOS, CONTEXT_DIM, CONTEXT_LEN, EOS, TOKEN_IDS, TOKENS

_SPECIAL = (TOKEN_IDS[BOS], TOKEN_IDS[EOS])
SPECIAL = Special(TOKEN_IDS[BOS], TOKEN_IDS[EOS], TOKEN_IDS[EOS], CONTEXT_LEN)
EMBEDDING_KEY = "clip_l"  # the toy encoder reads embedding files as SD 1.x's CLIP-L does


class ToyClip:
    """Text encoder of the toy family; conditioning is `[[context, {"pooled_output": pooled}]]`."""

    context_dim = CONTEXT_DIM

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    def tokenize(self, text: str) -> list[int]:
        """Token ids of the vocabulary words of `text` (no `<bos>`/`<eos>`)."""
        return [TOKEN_IDS[w] for w in words(text)]

    def encode(self, text: str, embeddings: Embeddings | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(context [1, 77·n, D], pooled [1, D]) for `text` (weights and embeddings as on SD
        1.x, module docstring); n = the number of 77-row chunks."""
        lookup = embeddings.lookup(EMBEDDING_KEY, CONTEXT_DIM) if embeddings else None
        missing = embeddings.missing if embeddings else (lambda _: None)
        chunks = tokenize(text, self.tokenize, SPECIAL, lookup, missing)
        warn = embeddings.warn if embeddings else None
        context, pooled = encode_chunks(chunks, SPECIAL, lambda b: _rows(b, warn))
        return context.to(self.device), pooled.to(self.device)

    def to(self, device: Any) -> ToyClip:
        """Produce conditioning on `device` from now on (in place; returns self)."""
        self.device = torch.device(device)
        return self


def _rows(batch: list[Chunk], warn: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(one-hot rows [m, 77, D] with embedding vectors as rows, pooled [1, D]: the mean of
    the word and embedding rows, zeros without any)."""
    ids, where, vectors = token_inputs(batch, CONTEXT_DIM, TOKEN_IDS[EOS], TOKEN_IDS[EOS], warn)
    eye = torch.eye(CONTEXT_DIM, dtype=torch.float32)
    context = eye[torch.tensor(ids)]
    for (row, col), vector in zip(where, vectors, strict=True):
        context[row, col] = vector.to(torch.float32)
    words_at = [(r, c) for r, chunk in enumerate(ids) for c, t in enumerate(chunk)
                if t not in _SPECIAL]
    picked = [context[r, c] for r, c in sorted({*words_at, *where})]
    pooled = torch.stack(picked).mean(0) if picked else torch.zeros(CONTEXT_DIM)
    return context, pooled.unsqueeze(0)


def _minimal_period(chunks: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    n = len(chunks)
    for p in range(1, n):
        if n % p == 0 and chunks == chunks[:p] * (n // p):
            return chunks[:p]
    return chunks


def read_context(context: torch.Tensor) -> list[tuple[str, ...]]:
    """The vocabulary words encoded in each row of a context batch [N, T, D].

    A row counts as a token when its largest entry exceeds 0.5; special tokens are dropped.
    A context made of a repeated sequence of 77-row chunks reads as one copy.
    """
    values, argmax = context.max(dim=-1)
    rows: list[list[int]] = torch.where(values > 0.5, argmax, -1).tolist()
    out = []
    for row in rows:
        if len(row) % CONTEXT_LEN == 0:
            chunks = [tuple(row[i : i + CONTEXT_LEN]) for i in range(0, len(row), CONTEXT_LEN)]
            row = [t for chunk in _minimal_period(chunks) for t in chunk]
        out.append(tuple(TOKENS[t] for t in row if 0 <= t < len(TOKENS) and t not in _SPECIAL))
    return out
