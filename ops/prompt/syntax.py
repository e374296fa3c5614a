"""Prompt syntax: weighted segments and `embedding:` references (docs/prompts.md §1, §3).

ComfyUI's rules, restated:
- `\\(` and `\\)` are literal parentheses; they are set aside before parsing.
- The text is split, left to right, into plain runs and parenthesised groups by a depth counter
  that starts at 0: a `(` at depth 0 starts a group, the `)` that brings the depth back to 0
  ends it; a `)` at depth 0 sends the counter negative and is plain text (so is what follows,
  until a `(` brings it back to 0 and another `(` opens a group); an unclosed group runs to
  the end of the text.
- A group `(inner)` has its parent's weight × 1.1, unless the text after the last `:` of
  inner (not its first character) reads as a finite float: then that is its weight (absolute,
  not multiplied) and inner ends before the `:`. Inner is parsed by the same rules; weights
  nest. Empty runs vanish.
- In each segment, ` embedding:` and `\\nembedding:` start an embedding reference (so does
  `embedding:` at the segment's start): the name is the first whitespace-separated word after
  the colon, the rest of the piece is text again.
"""

from __future__ import annotations

import math
import re

IDENTIFIER = "embedding:"
_ESCAPES = (("\\)", "\x00\x01"), ("\\(", "\x00\x02"))
_PARENS = re.compile(r"[()]")
_REFERENCE = re.compile(" embedding:|\nembedding:")


def _escape(text: str) -> str:
    for literal, mark in _ESCAPES:
        text = text.replace(literal, mark)
    return text


def _unescape(text: str) -> str:
    for literal, mark in _ESCAPES:
        text = text.replace(mark, literal[1])
    return text


def _top_items(text: str) -> list[tuple[int, int]]:
    """[start, end) of the plain runs and groups at depth 0 (the depth counter above)."""
    items: list[tuple[int, int]] = []
    start = depth = 0
    for match in _PARENS.finditer(text):
        at = match.start()
        if text[at] == "(":
            if depth == 0:
                if at > start:
                    items.append((start, at))
                start = at
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                items.append((start, at + 1))
                start = at + 1
    if start < len(text):
        items.append((start, len(text)))
    return items


class _Text:
    """The escaped prompt with what parsing looks up: per `(` its `)` (-1 when unclosed) inside
    its top-level group, the next parenthesis at or after each position, the last `:` before.
    Inside a group the depth never goes below 0, so nested groups are the stack matches; this
    keeps the work linear in the length however deep the nesting (ComfyUI rescans per level)."""

    def __init__(self, text: str, items: list[tuple[int, int]]) -> None:
        self.text, n = text, len(text)
        self.match = [-1] * n
        for lo, hi in items:
            if text[lo] != "(":
                continue
            opened: list[int] = []
            for m in _PARENS.finditer(text, lo, hi):
                if m.group() == "(":
                    opened.append(m.start())
                elif opened:
                    self.match[opened.pop()] = m.start()
        self.next_paren = [n] * (n + 1)
        self.last_colon = [-1] * (n + 1)
        for i in range(n - 1, -1, -1):
            self.next_paren[i] = i if text[i] in "()" else self.next_paren[i + 1]
        for i in range(n):
            self.last_colon[i + 1] = i if text[i] == ":" else self.last_colon[i]

    def group(self, lo: int, hi: int, weight: float) -> tuple[int, float]:
        """(end of inner, weight) of the group with inner text [lo, hi), in text of `weight`."""
        colon = self.last_colon[hi]
        if colon > lo and self.next_paren[colon] >= hi:  # a weight holds no parenthesis
            try:
                value = float(self.text[colon + 1 : hi])
            except ValueError:
                value = math.nan
            if math.isfinite(value):
                return colon, value
        return hi, weight * 1.1

    def items(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """[start, end) of the runs and groups of [lo, hi), the inner text of a group."""
        out: list[tuple[int, int]] = []
        at = lo
        while at < hi:
            paren = self.next_paren[at]
            if paren >= hi:
                out.append((at, hi))
                break
            if paren > at:
                out.append((at, paren))
            close = self.match[paren]
            if close == -1 or close >= hi:  # unclosed here: it runs to the end
                out.append((paren, hi))
                break
            out.append((paren, close + 1))
            at = close + 1
        return out


def weighted_segments(text: str) -> list[tuple[str, float]]:
    """The prompt as (text, weight) segments in order, escapes resolved."""
    text = _escape(text)
    top = _top_items(text)
    parsed = _Text(text, top)
    out: list[tuple[str, float]] = []
    stack: list[tuple[int, int, float, bool]] = [(lo, hi, 1.0, False) for lo, hi in top[::-1]]
    while stack:  # (start, end, weight, inner text of a group?)
        lo, hi, weight, inner = stack.pop()
        if inner:
            stack.extend((a, b, weight, False) for a, b in parsed.items(lo, hi)[::-1])
        elif hi - lo >= 2 and text[lo] == "(" and text[hi - 1] == ")":
            end, value = parsed.group(lo + 1, hi - 1, weight)
            stack.append((lo + 1, end, value, True))
        elif hi > lo:
            out.append((_unescape(text[lo:hi]), weight))
    return out


def pieces(segment: str) -> list[str]:
    """A segment cut before each embedding reference (ComfyUI's split); empty pieces dropped."""
    parts = _REFERENCE.split(segment)
    out = [parts[0], *(IDENTIFIER + p for p in parts[1:])]
    return [p for p in out if p]


def reference(piece: str) -> tuple[str, str] | None:
    """(embedding name, leftover text) if `piece` is an embedding reference, else None."""
    if not piece.startswith(IDENTIFIER):
        return None
    words = piece[len(IDENTIFIER) :].strip("\n").split()
    if not words:
        return None  # "embedding:" with no name is plain text
    return words[0], " ".join(words[1:])


def comma_fallback(name: str, leftover: str) -> tuple[str, str] | None:
    """ComfyUI's second try for a name not found: the name without commas at its ends, with
    the characters past it put back in front of the leftover text (None: no commas)."""
    stripped = name.strip(",")
    if len(stripped) == len(name):
        return None
    return stripped, f"{name[len(stripped):]} {leftover}"


def embedding_names(text: str) -> list[str]:
    """Every embedding name the prompt may read, in order, each once (both tries of
    `comma_fallback`); for cache keys, so it never needs the files."""
    if IDENTIFIER not in text:
        return []
    found: dict[str, None] = {}
    for segment, _ in weighted_segments(text):
        for piece in pieces(segment):
            ref = reference(piece)
            if ref is None:
                continue
            fallback = comma_fallback(*ref)
            for name in (ref[0], fallback[0] if fallback else ""):
                if name:
                    found[name] = None
    return list(found)
