"""Prompt → weighted 77-token chunks for one text encoder (docs/prompts.md §2, §3).

Each segment of `syntax.weighted_segments` is cut into pieces at embedding references; a text
piece is tokenized whole (one *group* of ids), an embedding is a group of its vectors, and every
token of a group carries the segment's weight. Groups are laid into chunks of `length` tokens
as ComfyUI does: a chunk opens with `start`; a group that fits is appended; one that does not
is cut at the chunk's end if it holds ≥ 8 tokens (the chunk is closed with `end`), or else the
chunk is closed with `end` and padded with `pad` and the group moves whole to the next chunk.
The last chunk is closed with `end` and padded to `length`. start/end/pad weigh 1.0. Without
an embedding lookup, `embedding:` is plain text (ComfyUI without an embeddings folder).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .syntax import comma_fallback, pieces, reference, weighted_segments

LARGE_GROUP = 8  # ComfyUI's max_word_length: groups this long may be cut between chunks


@dataclass(frozen=True, eq=False)
class Embedded:
    """One textual-inversion vector ([D] tensor) of embedding `name`, standing for a token."""

    name: str
    vector: Any


Token = int | Embedded
Chunk = list[tuple[Token, float]]
Lookup = Callable[[str], Any]  # embedding name → [n, D] tensor, or None when there is none


@dataclass(frozen=True)
class Special:
    """An encoder's special token ids and chunk length (pad: 49407 for CLIP-L, 0 for bigG)."""

    start: int
    end: int
    pad: int
    length: int = 77


def groups(text: str, encode: Callable[[str], list[int]], lookup: Lookup | None,
           missing: Callable[[str], None]) -> list[list[tuple[Token, float]]]:
    """The token groups of a prompt: ids of text pieces, vectors of embeddings; `missing(name)`
    is told of each reference that finds no embedding (it is then left out)."""
    out: list[list[tuple[Token, float]]] = []
    for segment, weight in weighted_segments(text):
        for piece in pieces(segment):
            ref = reference(piece) if lookup is not None else None
            if ref is not None and lookup is not None:
                name, leftover = ref
                vectors = lookup(name)
                if vectors is None and (fallback := comma_fallback(name, leftover)):
                    name, leftover = fallback
                    vectors = lookup(name) if name else None
                if vectors is None:
                    missing(ref[0])
                else:
                    out.append([(Embedded(name, v), weight) for v in vectors])
                if not leftover:
                    continue
                piece = leftover
            out.append([(t, weight) for t in encode(piece)])
    return out


def chunks(grouped: list[list[tuple[Token, float]]], special: Special) -> list[Chunk]:
    """Lay token groups into chunks of `special.length` (the rules above); ≥ 1 chunk."""
    opened: Chunk = [(special.start, 1.0)]
    out = [opened]
    for group in grouped:
        large = len(group) >= LARGE_GROUP
        while group:
            if len(opened) + len(group) <= special.length - 1:
                opened.extend(group)
                break
            room = special.length - 1 - len(opened)
            if large:
                opened.extend(group[:room])
                group = group[room:]
                opened.append((special.end, 1.0))
            else:
                opened.append((special.end, 1.0))
                opened.extend([(special.pad, 1.0)] * room)
            opened = [(special.start, 1.0)]
            out.append(opened)
    opened.append((special.end, 1.0))
    opened.extend([(special.pad, 1.0)] * (special.length - len(opened)))
    return out


def tokenize(text: str, encode: Callable[[str], list[int]], special: Special,
             lookup: Lookup | None = None, missing: Callable[[str], None] = lambda _: None
             ) -> list[Chunk]:
    """A prompt as weighted chunks for one encoder (`encode`: text → ids without specials)."""
    return chunks(groups(text, encode, lookup, missing), special)


def empty_chunk(special: Special) -> Chunk:
    """The empty prompt's chunk: start, end, then padding, all of weight 1."""
    ids = [special.start, special.end] + [special.pad] * (special.length - 2)
    return [(t, 1.0) for t in ids]


def weighted(chunks_: list[Chunk]) -> bool:
    """True when some token's weight is not 1 (ComfyUI then weighs against the empty prompt)."""
    return any(w != 1.0 for chunk in chunks_ for _, w in chunk)
