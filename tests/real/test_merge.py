"""ModelMergeSimple / Add / Subtract and CLIPMergeSimple on two tiny SD 1.x checkpoints,
against ComfyUI's patch formula (w1·strength_model + strength_patch·w2) computed here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import graphrt.ops.merge as M
from graphrt.core.op import NoParams
from graphrt.core.values import content_digest
from graphrt.ops.models.real import load_file
from tests.real.conftest import TinyModels
from tests.real.tiny import build_tiny


@pytest.fixture(scope="module")
def pair(tiny_models: TinyModels, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from safetensors.torch import save_file

    path = tmp_path_factory.mktemp("merge") / "other_sd15.safetensors"
    save_file(build_tiny("sd1", 7).original, path)
    return load_file(tiny_models.path("sd1")), load_file(path)


CASES = [("simple", lambda: M.merge_simple, M.MergeSimple(ratio=0.3), 0.3, 0.7),
         ("add", lambda: M.merge_add, NoParams(), 1.0, 1.0),
         ("subtract", lambda: M.merge_subtract, M.MergeSubtract(multiplier=2.5), 2.5, -2.5)]


@pytest.mark.parametrize(("kind", "fn", "params", "a", "b"), CASES, ids=[c[0] for c in CASES])
def test_model_merges(pair: Any, kind: str, fn: Any, params: Any, a: float, b: float) -> None:
    (m1, _, _), (m2, _, _) = pair
    before = content_digest([m1, m2])
    merged = fn()(params, m1, m2)
    assert content_digest([m1, m2]) == before
    theirs = dict(m2.net.unet.named_parameters())
    mine = dict(m1.net.unet.named_parameters())
    for name, got in merged.net.unet.named_parameters():
        want = mine[name].double() * a + b * theirs[name].double()
        torch.testing.assert_close(got, want.float(), rtol=1e-6, atol=1e-6)
    assert merged.net.unet is not m1.net.unet and merged.latent_scale == m1.latent_scale


def test_clip_merge_and_ratio_one(pair: Any) -> None:
    (m1, c1, _), (m2, c2, _) = pair
    assert M.merge_simple(M.MergeSimple(ratio=1.0), m1, m2) is m1
    assert M.merge_clip_simple(M.MergeSimple(ratio=1.0), c1, c2) is c1
    before = content_digest([c1, c2])
    merged = M.merge_clip_simple(M.MergeSimple(ratio=0.25), c1, c2)
    assert content_digest([c1, c2]) == before
    theirs = dict(c2.clip_l.named_parameters())
    for name, got in merged.clip_l.named_parameters():
        want = dict(c1.clip_l.named_parameters())[name].double() * 0.25 + 0.75 * theirs[
            name].double()
        torch.testing.assert_close(got, want.float(), rtol=1e-6, atol=1e-6)
    context, _ = merged.encode("a red circle")
    assert context.shape == c1.encode("a red circle")[0].shape


def test_mismatched_architectures_are_errors(pair: Any, tiny_models: TinyModels) -> None:
    (m1, _, _), _ = pair
    sdxl, _, _ = load_file(tiny_models.path("sdxl"))
    with pytest.raises(ValueError, match="architectures differ"):
        M.merge_add(NoParams(), m1, sdxl)


def test_toy_merges_return_model1(tmp_path: Path) -> None:
    from graphrt.ops.models.toy import load_toy

    model, clip, _ = load_toy("toy-shapes")
    other, clip2, _ = load_toy("toy-shapes")
    assert M.merge_add(NoParams(), model, other) is model
    assert M.merge_clip_simple(M.MergeSimple(ratio=0.5), clip, clip2) is clip
