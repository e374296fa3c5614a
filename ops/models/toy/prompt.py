"""Prompt → scene for the toy models.

A prompt is read word by word; words outside the vocabulary (`vocab.py`) are ignored. Rules:
- colour and size words qualify the next shape word, which completes an object;
- position words after a shape (before the next colour, size or shape) place that object,
  position words before it place the coming one; two of them combine ("top left");
- "<colour> background" sets the background colour; a colour that qualifies no shape does too,
  unless the prompt already names a background;
- defaults: colour white, size medium, position open (the model's mixture chooses).
A prompt with no objects and no background is unconditional.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .vocab import (
    COLOURS,
    DEFAULT_COLOUR,
    DEFAULT_SIZE,
    POSITIONS,
    SHAPES,
    SIZES,
    normalise_word,
)


@dataclass(frozen=True)
class ToyObject:
    """One shape: colour and size words, position an `ANCHORS` key or None (open)."""

    colour: str
    shape: str
    position: str | None
    size: str = DEFAULT_SIZE


@dataclass(frozen=True)
class Scene:
    """The objects in prompt (= painting) order and the background colour word or None."""

    objects: tuple[ToyObject, ...] = ()
    background: str | None = None

    @property
    def unconditional(self) -> bool:
        return not self.objects and self.background is None


def words(text: str) -> list[str]:
    """The vocabulary words of `text`, in order (unknown words dropped)."""
    found = (normalise_word(w) for w in re.findall(r"[A-Za-z]+", text))
    return [w for w in found if w is not None]


def _position(marks: Sequence[str]) -> str | None:
    horizontal = [m for m in marks if m in ("left", "right")]
    vertical = [m for m in marks if m in ("top", "bottom")]
    if horizontal and vertical:
        return f"{vertical[-1]} {horizontal[-1]}"
    if horizontal or vertical:
        return (horizontal or vertical)[-1]
    return "center" if marks else None


def parse_words(seq: Sequence[str]) -> Scene:
    """The scene described by a sequence of vocabulary words."""
    objects: list[tuple[str | None, str, str | None, list[str]]] = []
    colour: str | None = None
    size: str | None = None
    marks: list[str] = []
    background: str | None = None
    last: list[str] | None = None  # position marks of the object that trailing words place
    i = 0
    while i < len(seq):
        w = seq[i]
        if w in COLOURS:
            if i + 1 < len(seq) and seq[i + 1] == "background":
                background = w
                i += 1
            else:
                colour, last = w, None
        elif w in SIZES:
            size, last = w, None
        elif w in SHAPES:
            last = marks
            objects.append((colour, w, size, marks))
            colour, size, marks = None, None, []
        elif w in POSITIONS:
            (last if last is not None and colour is None and size is None else marks).append(w)
        i += 1
    if colour is not None and background is None:
        background = colour
    return Scene(
        tuple(
            ToyObject(c or DEFAULT_COLOUR, shape, _position(m), s or DEFAULT_SIZE)
            for c, shape, s, m in objects
        ),
        background,
    )


def parse_prompt(text: str) -> Scene:
    """The scene a prompt describes (see the module docstring for the rules)."""
    return parse_words(words(text))
