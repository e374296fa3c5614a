"""CLIP's byte-level BPE tokenizer, offline, from the vocabulary an installed package ships.

The algorithm is the published one (Radford et al. 2021; Sennrich et al. 2016 for BPE):
clean the text (ftfy, HTML unescape twice, collapse whitespace, lower-case), split it with
CLIP's pre-tokenizer pattern, map each piece's UTF-8 bytes to printable characters, mark the
last character of a word with `</w>`, then merge adjacent symbol pairs in merge-rank order.
The merges come from `bpe_simple_vocab_16e6.txt.gz` (inside clip-anytorch or open-clip-torch);
ids are the 256 byte symbols, the same with `</w>`, the 48,894 merged symbols, then
`<|startoftext|>` = 49406 and `<|endoftext|>` = 49407: 49,408 in all.

SD convention (`chunks`): every chunk is `[49406] + ≤75 BPE ids + [49407]`, padded to 77
with `pad` (49407 for SD and SDXL's CLIP-L, 0 for SDXL's OpenCLIP bigG). A prompt longer
than 75 tokens gives several chunks; an empty prompt gives one.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
from functools import lru_cache
from pathlib import Path

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
PACKAGES = ("clip", "open_clip")
NUM_MERGES = 49152 - 256 - 2
BOS, EOS = 49406, 49407
CONTEXT_LEN = 77
CHUNK = CONTEXT_LEN - 2
PATTERN = (r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]"
           r"|[^\s\p{L}\p{N}]+")


def vocab_path() -> Path:
    """The BPE merges file shipped by clip-anytorch (or open-clip-torch), without importing it."""
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / VOCAB_FILE
            if path.is_file():
                return path
    raise FileNotFoundError(f"{VOCAB_FILE} not found: install clip-anytorch or open-clip-torch")


def byte_symbols() -> tuple[list[str], list[str]]:
    """Printable stand-ins for the 256 byte values: (symbol of each byte, in byte order;
    the vocabulary's order of them). Printable Latin-1 bytes stand for themselves and come
    first in the vocabulary; the others map to code points 256, 257, … in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    rest = [b for b in range(256) if b not in keep]
    table = {b: chr(b) for b in keep} | {b: chr(256 + n) for n, b in enumerate(rest)}
    return [table[b] for b in range(256)], [table[b] for b in keep + rest]


def clean(text: str) -> str:
    """ftfy fix, HTML unescape (twice, for double-escaped entities), whitespace collapse, lower."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).lower()


class Tokenizer:
    """Text → CLIP BPE ids (no specials); `chunks` adds SD's start/end/padding layout."""

    def __init__(self, path: Path | None = None) -> None:
        import regex

        with gzip.open(path or vocab_path(), "rt", encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1 : NUM_MERGES + 1]]
        by_byte, symbols = byte_symbols()
        vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.ids = {s: i for i, s in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_map = by_byte
        self.pattern = regex.compile(PATTERN, regex.IGNORECASE)
        self._cache: dict[str, list[str]] = {"<|startoftext|>": ["<|startoftext|>"],
                                             "<|endoftext|>": ["<|endoftext|>"]}

    def bpe(self, word: str) -> list[str]:
        """The symbols of one pre-token after merging (lowest merge rank first)."""
        if word in self._cache:
            return self._cache[word]
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), NUM_MERGES), i)
                     for i, (a, b) in enumerate(zip(parts, parts[1:], strict=False))]
            rank, at = min(pairs)
            if rank == NUM_MERGES:
                break
            first, second = parts[at], parts[at + 1]
            merged, i = [], 0
            while i < len(parts):  # merge every occurrence of the pair, left to right
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self._cache[word] = parts
        return parts

    def encode(self, text: str) -> list[int]:
        """BPE ids of `text` (cleaned), without start/end tokens."""
        out: list[int] = []
        for piece in self.pattern.findall(clean(text)):
            mapped = "".join(self.byte_map[b] for b in piece.encode("utf-8"))
            out.extend(self.ids[s] for s in self.bpe(mapped))
        return out

    def chunks(self, text: str, pad: int = EOS) -> list[list[int]]:
        """SD layout: 77-id chunks `[BOS] + ≤75 ids + [EOS]`, padded with `pad`; ≥ 1 chunk."""
        ids = self.encode(text)
        out = []
        for start in range(0, max(len(ids), 1), CHUNK):
            body = ids[start : start + CHUNK]
            out.append([BOS, *body, EOS] + [pad] * (CHUNK - len(body)))
        return out


@lru_cache(maxsize=1)
def shared() -> Tokenizer:
    """One tokenizer per process (the vocabulary takes ~0.3 s to read)."""
    return Tokenizer()
