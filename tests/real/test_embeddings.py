"""Textual-inversion embeddings on the tiny SD 1.x and SDXL checkpoints (docs/prompts.md §3),
against ComfyUI's way computed here: a copy of the fixture's transformers module whose token
table is extended with the vectors under new ids past the vocabulary, weights applied against
the empty prompt. Files: A1111 .safetensors (`emb_params`) and .pt (`string_to_param`), SDXL
files with `clip_l`/`clip_g`; a vector of the wrong width is dropped with a warning."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.ops.models.real import load_file
from graphrt.ops.models.real.tokenizer import BOS, EOS, shared
from graphrt.ops.text import Encode, EncodeSDXL, encode, encode_sdxl
from tests.real.conftest import TinyModels

VOCAB = 49408
Item = tuple[Any, float]  # a token id, or a [D] vector, with its weight


def extended(module: Any, vectors: list[torch.Tensor]) -> Any:
    """A copy of `module` whose token table has `vectors` appended (ids VOCAB, VOCAB+1, …)."""
    out = copy.deepcopy(module)
    table = out.get_input_embeddings()
    grown = torch.nn.Embedding(VOCAB + len(vectors), table.weight.shape[1])
    with torch.no_grad():
        grown.weight[:VOCAB] = table.weight
        for i, v in enumerate(vectors):
            grown.weight[VOCAB + i] = v
    out.set_input_embeddings(grown)
    return out


def reference(module: Any, body: list[Item], pad: int, layer: int, norm: bool
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """One chunk: start, `body` (ids and vectors), end, padding; weighted if any w ≠ 1."""
    vectors = [t for t, _ in body if torch.is_tensor(t)]
    model = extended(module, vectors)
    ids, weights, n = [BOS], [1.0], 0
    for token, w in body:
        if torch.is_tensor(token):
            token, n = VOCAB + n, n + 1
        ids.append(token)
        weights.append(w)
    ids += [EOS] + [pad] * (76 - len(ids))
    weights += [1.0] * (77 - len(weights))
    batch = torch.tensor([ids, [BOS, EOS] + [pad] * 75])
    with torch.no_grad():
        out = model(batch, output_hidden_states=True)
        hidden = out.hidden_states[layer]
        if norm:
            hidden = getattr(model, "text_model", model).final_layer_norm(hidden)
    z, z_empty = hidden[0].clone(), hidden[1]
    for j, w in enumerate(weights):
        if w != 1.0:
            z[j] = (z[j] - z_empty[j]) * w + z_empty[j]
    pooled = out.text_embeds if hasattr(out, "text_embeds") else out.pooler_output
    return z[None], pooled[:1]


def words(text: str, w: float = 1.0) -> list[Item]:
    return [(t, w) for t in shared().encode(text)]


def context(models: Path, warned: list[str] | None = None) -> OpContext:
    on_warning = warned.append if warned is not None else None
    return OpContext.detached(folders=Folders(models=models), on_warning=on_warning)


@pytest.fixture()
def models(tmp_path: Path) -> Path:
    (tmp_path / "embeddings" / "styles").mkdir(parents=True)
    return tmp_path


def test_sd1_safetensors_and_pt(tiny_models: TinyModels, models: Path) -> None:
    gen = torch.Generator().manual_seed(5)
    style, pt = torch.randn(3, 64, generator=gen), torch.randn(2, 64, generator=gen)
    save_file({"emb_params": style}, models / "embeddings" / "styles" / "style.safetensors")
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": pt}, "name": "old",
                "step": 3000}, models / "embeddings" / "old.pt")
    _, clip, _ = load_file(tiny_models.path("sd1"))
    module = tiny_models.tiny["sd1"].modules["clip_l"]
    text = "a embedding:style fox (embedding:old.pt:1.2), embedding:style,"
    body = [*words("a"), *((v, 1.0) for v in style), *words("fox"),
            *((v, 1.2) for v in pt), *words(", "), *((v, 1.0) for v in style), *words(",")]
    want, pooled = reference(module, body, EOS, -1, True)
    (entry,) = encode(Encode(text=text), clip, ctx=context(models))
    torch.testing.assert_close(entry[0], want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entry[1]["pooled_output"], pooled, rtol=1e-5, atol=1e-5)


def test_sdxl_clip_l_and_clip_g_vectors(tiny_models: TinyModels, models: Path) -> None:
    gen = torch.Generator().manual_seed(6)
    vec_l, vec_g = torch.randn(2, 64, generator=gen), torch.randn(2, 128, generator=gen)
    save_file({"clip_l": vec_l, "clip_g": vec_g}, models / "embeddings" / "xl.safetensors")
    _, clip, _ = load_file(tiny_models.path("sdxl"))
    mods = tiny_models.tiny["sdxl"].modules
    text_g, text_l = "a (embedding:xl:0.7) cat", "embedding:xl a cat"
    g, pooled = reference(mods["clip_g"], [*words("a"), *((v, 0.7) for v in vec_g),
                                           *words("cat")], 0, -2, False)
    l_ctx, _ = reference(mods["clip_l"], [*((v, 1.0) for v in vec_l), *words("a cat")],
                         EOS, -2, False)
    params = EncodeSDXL(text_g=text_g, text_l=text_l)
    (entry,) = encode_sdxl(params, clip, ctx=context(models))
    torch.testing.assert_close(entry[0], torch.cat([l_ctx, g], dim=-1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entry[1]["pooled_output"], pooled, rtol=1e-5, atol=1e-5)


def test_wrong_width_and_missing_names_warn(tiny_models: TinyModels, models: Path) -> None:
    save_file({"emb_params": torch.ones(1, 768)}, models / "embeddings" / "big.safetensors")
    _, clip, _ = load_file(tiny_models.path("sd1"))
    module = tiny_models.tiny["sd1"].modules["clip_l"]
    warned: list[str] = []
    (entry,) = encode(Encode(text="a embedding:big fox embedding:nowhere"), clip,
                      ctx=context(models, warned))
    assert sorted(warned) == [
        "embedding:big has vectors of width 768, this text encoder takes 64; ignored",
        "embedding:nowhere does not exist in <models>/embeddings; ignored"]
    want, _ = reference(module, [*words("a fox")], EOS, -1, True)  # dropped, padded at the end
    torch.testing.assert_close(entry[0], want, rtol=1e-5, atol=1e-5)


def test_names_never_leave_the_folder(tiny_models: TinyModels, models: Path) -> None:
    save_file({"emb_params": torch.ones(1, 64)}, models / "outside.safetensors")
    _, clip, _ = load_file(tiny_models.path("sd1"))
    warned: list[str] = []
    encode(Encode(text="embedding:../outside"), clip, ctx=context(models, warned))
    assert warned == ["embedding:../outside does not exist in <models>/embeddings; ignored"]
