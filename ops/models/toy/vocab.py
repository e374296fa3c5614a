"""The toy vocabulary: colours, shapes, positions, sizes, and the token table.

Token ids index `TOKENS`; a context row is the one-hot vector of its token id (width
`CONTEXT_DIM`). Colours are RGB in [0, 1], deliberately a little short of full saturation so
that classifier-free guidance has room to saturate them. Positions are anchors in normalised
image coordinates (x right, y down); the five single-word anchors are the mixture components
of an object whose position the prompt leaves open.
"""

from __future__ import annotations

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.15, 0.15),
    "green": (0.15, 0.75, 0.2),
    "blue": (0.15, 0.25, 0.85),
    "yellow": (0.9, 0.85, 0.15),
    "cyan": (0.15, 0.8, 0.85),
    "magenta": (0.85, 0.15, 0.8),
    "white": (0.92, 0.92, 0.92),
    "black": (0.08, 0.08, 0.08),
    "orange": (0.95, 0.55, 0.1),
    "purple": (0.5, 0.2, 0.7),
    "pink": (0.95, 0.6, 0.7),
    "brown": (0.55, 0.35, 0.15),
    "grey": (0.5, 0.5, 0.5),
}
SHAPES = ("circle", "square", "triangle")
POSITIONS = ("left", "right", "top", "bottom", "center")
SIZES: dict[str, float] = {"small": 0.12, "medium": 0.18, "large": 0.25}
"""Object radius as a fraction of the shorter image side."""

ANCHORS: dict[str, tuple[float, float]] = {
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
    "center": (0.5, 0.5),
    "top left": (0.25, 0.25),
    "top right": (0.75, 0.25),
    "bottom left": (0.25, 0.75),
    "bottom right": (0.75, 0.75),
}
"""Object centre (x, y) per position; corners come from combining two position words."""

SYNONYMS: dict[str, str] = {
    "gray": "grey",
    "big": "large",
    "tiny": "small",
    "centre": "center",
    "middle": "center",
    "centered": "center",
    "centred": "center",
    "circles": "circle",
    "squares": "square",
    "triangles": "triangle",
}

DEFAULT_COLOUR = "white"
DEFAULT_SIZE = "medium"
DEFAULT_BACKGROUND: tuple[float, float, float] = (0.5, 0.5, 0.5)
"""Neutral grey: the mean of the unconditional distribution, so guidance leaves it alone."""

BOS, EOS = "<bos>", "<eos>"
TOKENS: tuple[str, ...] = (
    BOS, EOS, *COLOURS, *SHAPES, *POSITIONS, *SIZES, "background",
)  # fmt: skip
TOKEN_IDS: dict[str, int] = {tok: i for i, tok in enumerate(TOKENS)}
CONTEXT_DIM = 64
CONTEXT_LEN = 77
assert len(TOKENS) <= CONTEXT_DIM


def normalise_word(word: str) -> str | None:
    """The vocabulary word for `word` (lower-cased, synonyms resolved), or None if unknown."""
    w = SYNONYMS.get(word.lower(), word.lower())
    return w if w in TOKEN_IDS and w not in (BOS, EOS) else None
