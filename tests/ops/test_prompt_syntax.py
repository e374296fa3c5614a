"""Prompt syntax and chunking (docs/prompts.md §1–§3) against hand-derived examples and against
a plain recursive reading of the documented rules, written here."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphrt.ops.prompt.syntax import (
    comma_fallback,
    embedding_names,
    pieces,
    reference,
    weighted_segments,
)
from graphrt.ops.prompt.tokens import Embedded, Special, chunks, empty_chunk, tokenize, weighted


def reference_segments(text: str) -> list[tuple[str, float]]:
    """docs/prompts.md §1, read literally: escape, split by the depth counter, recurse."""
    text = text.replace("\\)", "\x00R").replace("\\(", "\x00L")

    def split(s: str) -> list[str]:
        out, cur, depth = [], "", 0
        for ch in s:
            if ch == "(" and depth == 0:
                if cur:
                    out.append(cur)
                cur = ""
            if ch == ")" and depth == 1:
                out.append(cur + ")")
                cur, depth = "", 0
                continue
            cur += ch
            depth += 1 if ch == "(" else -1 if ch == ")" else 0
        return [*out, cur] if cur else out

    def walk(s: str, w: float) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for item in split(s):
            if len(item) < 2 or item[0] != "(" or item[-1] != ")":
                out.append((item.replace("\x00R", ")").replace("\x00L", "("), w))
                continue
            inner, weight = item[1:-1], w * 1.1
            head, sep, tail = inner.rpartition(":")
            if sep and head:
                try:
                    value = float(tail)
                except ValueError:
                    value = math.inf
                if math.isfinite(value):
                    inner, weight = head, value
            out += walk(inner, weight)
        return out

    return walk(text, 1.0)


@pytest.mark.parametrize(("text", "want"), [
    ("a (red:1.2) hat", [("a ", 1.0), ("red", 1.2), (" hat", 1.0)]),
    ("(a)", [("a", 1.1)]),
    ("((a))", [("a", 1.1 * 1.1)]),
    ("((a:1.5))", [("a", 1.5)]),
    ("(a (b) c:0.5)", [("a ", 0.5), ("b", 0.5 * 1.1), (" c", 0.5)]),
    ("(a:-1)", [("a", -1.0)]),
    (r"\(x\) (y)", [("(x) ", 1.0), ("y", 1.1)]),
    ("a) (b)", [("a) (b)", 1.0)]),
    ("((a)", [("(a", 1.1)]),
    ("(a", [("(a", 1.0)]),
    ("(a:b)", [("a:b", 1.1)]),
    ("(:1.2)", [(":1.2", 1.1)]),
    ("(a:inf)", [("a:inf", 1.1)]),
    ("()x", [("x", 1.0)]),
    ("", []),
])
def test_segments(text: str, want: list[tuple[str, float]]) -> None:
    assert weighted_segments(text) == want


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="ab :()\\1.2,e\n", max_size=40))
def test_segments_follow_the_documented_rules(text: str) -> None:
    assert weighted_segments(text) == reference_segments(text)


def test_deep_and_wide_prompts_parse_in_linear_time() -> None:
    """ComfyUI rescans each nesting level (and fails near 1,000 levels); here 3,000 levels
    around 4,000 groups, 20,000 characters in all, take well under a second."""
    deep = "(" * 3000 + "(a)" * 4000 + ")" * 3000
    t0 = time.perf_counter()
    out = weighted_segments(deep)
    assert time.perf_counter() - t0 < 1.0
    assert len(out) == 4000 and out[0] == ("a", pytest.approx(1.1 ** 3001))
    unclosed = "(" * 3000 + "x)"
    assert weighted_segments(unclosed) == reference_segments(unclosed)


def test_embedding_references() -> None:
    assert pieces("a embedding:foo b\nembedding:bar") == ["a", "embedding:foo b",
                                                         "embedding:bar"]
    assert pieces("xembedding:foo") == ["xembedding:foo"]
    assert reference("embedding:foo, a cat") == ("foo,", "a cat")
    assert reference("embedding: foo") == ("foo", "")
    assert reference("embedding:") is None and reference("foo") is None
    assert comma_fallback("foo,", "a cat") == ("foo", ", a cat")
    assert comma_fallback("foo", "") is None
    assert embedding_names("embedding:foo, a (embedding:bar:1.2) x") == ["foo,", "foo", "bar"]
    assert embedding_names("no references (at:1.1) all") == []


SPECIAL = Special(start=100, end=101, pad=102, length=12)  # 10 tokens a chunk


def ids(chunk: list) -> list:
    return [t for t, _ in chunk]


def test_chunks_cut_large_groups_and_move_small_ones() -> None:
    big = [(i, 1.0) for i in range(13)]  # ≥ 8: cut at the chunk's end
    out = chunks([big], SPECIAL)
    assert [ids(c) for c in out] == [[100, *range(10), 101],
                                     [100, 10, 11, 12, 101, 102, 102, 102, 102, 102, 102, 102]]
    small = [(7, 1.5), (8, 1.5)]  # < 8: moves whole when it does not fit
    out = chunks([[(i, 1.0) for i in range(9)], small], SPECIAL)
    assert [ids(c) for c in out] == [[100, *range(9), 101, 102],
                                     [100, 7, 8, 101, *[102] * 8]]
    assert [w for _, w in out[1]] == [1.0, 1.5, 1.5] + [1.0] * 9
    exact = chunks([[(i, 1.0) for i in range(10)]], SPECIAL)  # exactly 10: one chunk
    assert [ids(c) for c in exact] == [[100, *range(10), 101]]
    assert chunks([], SPECIAL) == [empty_chunk(SPECIAL)]


def test_tokenize_weights_groups_and_embeddings() -> None:
    words = {"a": [1], "red": [2], "hat": [3]}

    def encode(text: str) -> list[int]:
        return [t for w in text.split() for t in words.get(w, [9])]

    missing: list[str] = []
    vectors = {"foo": [[0.5], [0.25]]}
    out = tokenize("a (red embedding:foo:1.3) embedding:nope hat", encode, SPECIAL,
                   vectors.get, missing.append)
    (chunk,) = out
    kinds = [t.name if isinstance(t, Embedded) else t for t, _ in chunk][:6]
    assert kinds == [100, 1, 2, "foo", "foo", 3]
    assert [w for _, w in chunk][:6] == [1.0, 1.0, 1.3, 1.3, 1.3, 1.0]
    assert missing == ["nope"] and weighted(out)
    plain = tokenize("a embedding:foo", encode, SPECIAL)  # no lookup: plain text
    assert ids(plain[0])[:3] == [100, 1, 9] and not weighted(plain)
