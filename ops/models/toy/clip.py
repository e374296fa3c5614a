"""The toy text encoder: prompt words → one-hot token rows shaped like CLIP's output.

`encode(text)` returns `context` [1, 77·n, CONTEXT_DIM] and `pooled` [1, CONTEXT_DIM]. Each
77-row chunk is `<bos>`, up to 75 vocabulary tokens, `<eos>`, then `<eos>` padding (as SD1's
tokenizer pads); row r is the one-hot vector of its token id (`vocab.TOKENS`). Unknown words
are dropped before tokenizing, so "a red circle" and "red circle" encode identically.
`pooled` is the mean of the word rows (zeros for an empty prompt); the toy UNet ignores it.
`read_context` inverts the encoding, and is robust to a context repeated along the token axis
(as batching conditionings of different lengths does).
"""

from __future__ import annotations

from typing import Any

import torch

from .prompt import words
from .vocab import BOS, CONTEXT_DIM, CONTEXT_LEN, EOS, TOKEN_IDS, TOKENS

_CHUNK = CONTEXT_LEN - 2
_SPECIAL = (TOKEN_IDS[BOS], TOKEN_IDS[EOS])


class ToyClip:
    """Text encoder of the toy family; conditioning is `[[context, {"pooled_output": pooled}]]`."""

    context_dim = CONTEXT_DIM

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    def tokenize(self, text: str) -> list[int]:
        """Token ids of the vocabulary words of `text` (no `<bos>`/`<eos>`)."""
        return [TOKEN_IDS[w] for w in words(text)]

    def encode(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(context [1, 77·n, D], pooled [1, D]) for `text`; n = max(1, ⌈tokens/75⌉)."""
        ids = self.tokenize(text)
        rows: list[int] = []
        for start in range(0, max(len(ids), 1), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows += [TOKEN_IDS[BOS], *chunk] + [TOKEN_IDS[EOS]] * (CONTEXT_LEN - 1 - len(chunk))
        eye = torch.eye(CONTEXT_DIM, dtype=torch.float32)
        context = eye[torch.tensor(rows)].unsqueeze(0)
        pooled = eye[torch.tensor(ids)].mean(0) if ids else torch.zeros(CONTEXT_DIM)
        return context.to(self.device), pooled.unsqueeze(0).to(self.device)

    def to(self, device: Any) -> ToyClip:
        """Produce conditioning on `device` from now on (in place; returns self)."""
        self.device = torch.device(device)
        return self


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
