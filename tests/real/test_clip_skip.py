"""text.clip_skip / CLIPSetLastLayer on the tiny SD 1.x and SDXL checkpoints, against
hidden_states[stop] computed here from the fixture's own transformers modules (which the
loaded file was written from): SD 1.x layer-normed, SDXL not, pooled unchanged; no mutation."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from graphrt.core.values import content_digest
from graphrt.ops.clip import ClipSkip, clip_skip
from graphrt.ops.models.real import load_file
from graphrt.ops.models.real.tokenizer import EOS, shared
from tests.real.conftest import TinyModels

TEXT = "a red fox in the snow"


def hidden(module: Any, ids: list[list[int]], stop: int, norm: bool) -> torch.Tensor:
    final_norm = getattr(module, "text_model", module).final_layer_norm
    with torch.no_grad():
        out = module(torch.tensor(ids), output_hidden_states=True)
        inside = abs(stop) <= module.config.num_hidden_layers
        h = out.hidden_states[stop] if inside else final_norm(out.hidden_states[-1])
        if norm and inside:
            h = final_norm(h)
    return h.reshape(1, -1, h.shape[-1])


@pytest.mark.parametrize("stop", [-1, -2, -3, -5])
def test_sd1_encodes_from_the_normed_hidden_state(tiny_models: TinyModels, stop: int) -> None:
    _, clip, _ = load_file(tiny_models.path("sd1"))
    before = content_digest(clip)
    skipped = clip_skip(ClipSkip(stop_at_clip_layer=stop), clip)
    assert content_digest(clip) == before and skipped is not clip
    assert skipped.clip_l is clip.clip_l  # modules shared, not copied
    ref = tiny_models.tiny["sd1"].modules["clip_l"]
    ids = shared().chunks(TEXT, pad=EOS)
    context, pooled = skipped.encode(TEXT)
    torch.testing.assert_close(context, hidden(ref, ids, stop, norm=True), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pooled, clip.encode(TEXT)[1])
    if stop == -1:
        assert torch.equal(context, clip.encode(TEXT)[0])


@pytest.mark.parametrize("stop", [-1, -2, -3])
def test_sdxl_both_encoders_unnormed_pooled_unchanged(tiny_models: TinyModels, stop: int
                                                      ) -> None:
    _, clip, _ = load_file(tiny_models.path("sdxl"))
    skipped = clip_skip(ClipSkip(stop_at_clip_layer=stop), clip)
    mods = tiny_models.tiny["sdxl"].modules
    tok = shared()
    ref_l = hidden(mods["clip_l"], tok.chunks(TEXT, pad=EOS), stop, norm=False)
    ref_g = hidden(mods["clip_g"], tok.chunks(TEXT, pad=0), stop, norm=False)
    entry = skipped.encode_sdxl(TEXT, TEXT, 1024, 1024, 0, 0, 1024, 1024)
    torch.testing.assert_close(entry[0], torch.cat([ref_l, ref_g], dim=-1), rtol=1e-5,
                               atol=1e-5)
    plain = clip.encode_sdxl(TEXT, TEXT, 1024, 1024, 0, 0, 1024, 1024)
    with torch.no_grad():
        want_pooled = mods["clip_g"](torch.tensor(tok.chunks(TEXT, pad=0))).text_embeds[:1]
    torch.testing.assert_close(entry[1]["pooled_output"], want_pooled, rtol=1e-5, atol=1e-5)
    assert torch.equal(entry[1]["y"], plain[1]["y"])
    if stop == -2:  # ComfyUI's SDXL default is the penultimate layer
        assert torch.equal(entry[0], plain[0])
    else:
        assert not torch.equal(entry[0], plain[0])


def test_beyond_depth_takes_the_normed_last_state(tiny_models: TinyModels) -> None:
    _, clip, _ = load_file(tiny_models.path("sdxl"))
    skipped = clip_skip(ClipSkip(stop_at_clip_layer=-4), clip)  # tiny encoders: 3 layers
    mods, tok = tiny_models.tiny["sdxl"].modules, shared()
    ref_l = hidden(mods["clip_l"], tok.chunks(TEXT, pad=EOS), -4, norm=False)
    ref_g = hidden(mods["clip_g"], tok.chunks(TEXT, pad=0), -4, norm=False)
    torch.testing.assert_close(skipped.encode(TEXT)[0], torch.cat([ref_l, ref_g], dim=-1),
                               rtol=1e-5, atol=1e-5)


def test_toy_clip_has_one_layer() -> None:
    from graphrt.ops.models.toy import load_toy

    _, clip, _ = load_toy("toy-shapes")
    for stop in (-1, -2, -24):  # the toy encoder's only layer is its last: every stop reads it
        assert clip_skip(ClipSkip(stop_at_clip_layer=stop), clip) is clip
