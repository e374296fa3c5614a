"""The offline BPE tokenizer equals clip-anytorch's reference tokenizer (`clip.tokenize`)."""

from __future__ import annotations

import warnings

import pytest
import torch

from graphrt.ops.models.real.tokenizer import BOS, EOS, shared

PROMPTS = [
    "a photo of a cat, 4k!!",
    "Café déjà vu — naïve façade; Ærøskøbing's fjord?",
    "fish &amp; chips &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot; &#39;x&#39;",
    "  lots   of\n\twhite   space  ",
    "it's we'll I'd you're they've",
    "😀 emoji, 日本語のテキスト, ελληνικά",
    "",
    " ".join(f"word{i}" for i in range(120)),  # far past 75 tokens
]


@pytest.fixture(scope="module")
def reference() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import clip
    return clip


@pytest.mark.parametrize("text", PROMPTS)
def test_sd_padding_matches_clip_tokenize(reference: object, text: str) -> None:
    want = reference.tokenize([text], truncate=True)[0].tolist()  # type: ignore[attr-defined]
    first = shared().chunks(text, pad=EOS)[0]
    # clip.tokenize pads with 0 and keeps 76 ids + EOS when truncating
    n = want.index(EOS) + 1
    assert first[:n] == want[:n]
    assert first[n:] == [EOS] * (77 - n)
    assert len(first) == 77


@pytest.mark.parametrize("text", PROMPTS)
def test_sdxl_second_encoder_pads_with_zero(reference: object, text: str) -> None:
    want = reference.tokenize([text], truncate=True)[0].tolist()  # type: ignore[attr-defined]
    first = shared().chunks(text, pad=0)[0]
    if len(shared().encode(text)) <= 75:  # same as clip.tokenize (which pads with 0)
        assert first == want


@pytest.mark.parametrize("text", PROMPTS)
def test_bpe_ids_equal_simple_tokenizer(reference: object, text: str) -> None:
    from clip.simple_tokenizer import SimpleTokenizer

    assert shared().encode(text) == SimpleTokenizer().encode(text)


def test_long_prompts_split_into_75_token_chunks() -> None:
    text = PROMPTS[-1]
    ids = shared().encode(text)
    chunks = shared().chunks(text)
    assert len(ids) > 150 and len(chunks) == -(-len(ids) // 75)
    assert all(len(c) == 77 and c[0] == BOS for c in chunks)
    assert [t for c in chunks for t in c[1 : 1 + 75] if t != EOS][: len(ids)] == ids
    assert shared().chunks("") == [[BOS] + [EOS] * 76]


def test_clip_tokenize_tensor_is_the_reference(reference: object) -> None:
    got = reference.tokenize(["hello world"])  # type: ignore[attr-defined]
    assert isinstance(got, torch.Tensor) and got[0, :4].tolist() == [BOS, 3306, 1002, EOS]
