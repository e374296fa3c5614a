"""Prompt weighting on the tiny SD 1.x and SDXL checkpoints against a reference computed here
from the fixture's own transformers modules and docs/prompts.md §2: chunks laid out by hand,
the prompt's chunks and the empty chunk encoded in one batch, z = (z − z_empty)·w + z_empty
where w ≠ 1, pooled from the first chunk; including prompts over 75 tokens."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from graphrt.ops.models.real import load_file
from graphrt.ops.models.real.tokenizer import BOS, EOS, shared
from tests.real.conftest import TinyModels

Tokens = list[tuple[int, float]]


def segment(text: str, weight: float) -> Tokens:
    return [(t, weight) for t in shared().encode(text)]


def layout(chunks: list[Tokens], pad: int) -> list[Tokens]:
    """Each chunk's tokens framed by start/end and padded to 77."""
    out = []
    for body in chunks:
        assert len(body) <= 75
        out.append([(BOS, 1.0), *body, (EOS, 1.0)] + [(pad, 1.0)] * (75 - len(body)))
    return out


def reference(module: Any, chunks: list[Tokens], pad: int, layer: int, norm: bool
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(context [1, 77·n, D], pooled [1, P]) of weighted chunks, the maths written out."""
    empty = [BOS, EOS] + [pad] * 75
    ids = torch.tensor([[t for t, _ in c] for c in chunks] + [empty])
    with torch.no_grad():
        out = module(ids, output_hidden_states=True)
        hidden = out.hidden_states[layer]
        if norm:
            hidden = getattr(module, "text_model", module).final_layer_norm(hidden)
    pooled = out.text_embeds if hasattr(out, "text_embeds") else out.pooler_output
    z, z_empty = hidden[:-1].clone(), hidden[-1]
    for k, chunk in enumerate(chunks):
        for j, (_, w) in enumerate(chunk):
            if w != 1.0:
                z[k, j] = (z[k, j] - z_empty[j]) * w + z_empty[j]
    return z.reshape(1, -1, z.shape[-1]), pooled[:1]


SHORT = "a (red fox:1.3) in ((snow))"
SHORT_TOKENS = [*segment("a ", 1.0), *segment("red fox", 1.3), *segment(" in ", 1.0),
                *segment("snow", 1.1 * 1.1)]
LONG = "(" + "red fox, " * 40 + ":1.2) and a (blue:0.8) sky"
LONG_TOKENS = [*segment("red fox, " * 40, 1.2), *segment(" and a ", 1.0),
               *segment("blue", 0.8), *segment(" sky", 1.0)]


def test_long_prompt_layout_is_what_the_test_assumes() -> None:
    assert len(segment("red fox, " * 40, 1.2)) == 120 > 75  # one large group, cut at 75
    assert len(LONG_TOKENS) < 150  # so two chunks, no small group at the boundary


@pytest.mark.parametrize(("text", "tokens"), [(SHORT, SHORT_TOKENS), (LONG, LONG_TOKENS)],
                         ids=["short", "long"])
def test_sd1_weighting(tiny_models: TinyModels, text: str, tokens: Tokens) -> None:
    _, clip, _ = load_file(tiny_models.path("sd1"))
    module = tiny_models.tiny["sd1"].modules["clip_l"]
    chunks = layout([tokens[i : i + 75] for i in range(0, len(tokens), 75)], EOS)
    want, want_pooled = reference(module, chunks, EOS, -1, True)
    context, pooled = clip.encode(text)
    assert context.shape == (1, 77 * len(chunks), 64)
    torch.testing.assert_close(context, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pooled, want_pooled, rtol=1e-5, atol=1e-5)
    plain = clip.encode(text.replace("(", "").replace(")", "").replace(":1.3", "")
                        .replace(":1.2", "").replace(":0.8", ""))[0]
    assert not torch.allclose(context, plain)


def test_a_small_group_at_the_boundary_moves_to_the_next_chunk(tiny_models: TinyModels
                                                               ) -> None:
    _, clip, _ = load_file(tiny_models.path("sd1"))
    module = tiny_models.tiny["sd1"].modules["clip_l"]
    head = segment("x " * 74, 1.0)
    assert len(head) == 74
    chunks = layout([head, segment("blue sky", 1.3)], EOS)  # 74 + 2 > 75: moves whole
    want, _ = reference(module, chunks, EOS, -1, True)
    torch.testing.assert_close(clip.encode("x " * 74 + "(blue sky:1.3)")[0], want,
                               rtol=1e-5, atol=1e-5)


def test_sdxl_weighting_per_encoder_evened_out(tiny_models: TinyModels) -> None:
    _, clip, _ = load_file(tiny_models.path("sdxl"))
    mods = tiny_models.tiny["sdxl"].modules
    g_chunks = layout([LONG_TOKENS[:75], LONG_TOKENS[75:]], 0)
    l_chunks = layout([SHORT_TOKENS], EOS) + layout([[]], EOS)  # evened out with an empty one
    g, pooled = reference(mods["clip_g"], g_chunks, 0, -2, False)
    l_ctx, _ = reference(mods["clip_l"], l_chunks, EOS, -2, False)
    entry = clip.encode_sdxl(LONG, SHORT, 1024, 768, 0, 0, 1024, 768)
    torch.testing.assert_close(entry[0], torch.cat([l_ctx, g], dim=-1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entry[1]["pooled_output"], pooled, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entry[1]["y"][:, :96], pooled, rtol=1e-5, atol=1e-5)


def test_sdxl_refiner_weighting(tiny_models: TinyModels) -> None:
    _, clip, _ = load_file(tiny_models.path("sdxl_refiner"))
    module = tiny_models.tiny["sdxl_refiner"].modules["clip_g"]
    want, pooled = reference(module, layout([SHORT_TOKENS], 0), 0, -2, False)
    entry = clip.encode_sdxl_refiner(SHORT, 6.0, 1024, 1024)
    torch.testing.assert_close(entry[0], want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entry[1]["pooled_output"], pooled, rtol=1e-5, atol=1e-5)


def test_unweighted_prompts_skip_the_empty_chunk(tiny_models: TinyModels) -> None:
    """Weight 1 everywhere: exactly the chunks' own hidden states, bit for bit."""
    _, clip, _ = load_file(tiny_models.path("sd1"))
    module = tiny_models.tiny["sd1"].modules["clip_l"]
    text = "red fox, " * 30
    ids = shared().chunks(text, pad=EOS)
    context, _ = clip.encode(text)
    with torch.no_grad():
        direct = module(torch.tensor(ids), output_hidden_states=True)
    want = module.final_layer_norm(direct.hidden_states[-1]).reshape(1, -1, 64)
    torch.testing.assert_close(context, want, rtol=1e-5, atol=1e-5)
    assert torch.equal(context, clip.encode("(red fox, :1.0)" * 30)[0])  # weight 1 written out
    escaped, _ = clip.encode(r"a \(red\) fox")  # literal parentheses, tokenized as text
    with torch.no_grad():
        lit = module(torch.tensor(shared().chunks("a (red) fox", pad=EOS)))
    torch.testing.assert_close(escaped, lit.last_hidden_state, rtol=1e-5, atol=1e-5)
