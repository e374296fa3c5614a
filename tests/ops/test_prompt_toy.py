"""Prompt weights and embeddings on the toy encoder (docs/prompts.md §4): plain prompts encode
as before, weights follow ComfyUI's formula against the empty prompt, embeddings are rows of
their own; missing names warn; embedding files are in the keys; pickles only weights_only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from graphrt import Runtime
from graphrt.core import events as ev
from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.fronts.progress import ProgressPrinter
from graphrt.ops.models.toy import ToyClip
from graphrt.ops.models.toy.clip import read_context
from graphrt.ops.models.toy.prompt import words
from graphrt.ops.models.toy.vocab import CONTEXT_DIM, TOKEN_IDS
from graphrt.ops.prompt.embeddings import UnsafePickle
from graphrt.ops.text import Encode, encode

EYE = torch.eye(CONTEXT_DIM)
BOS, EOS = TOKEN_IDS["<bos>"], TOKEN_IDS["<eos>"]


def one_hot_chunks(ids: list[int]) -> torch.Tensor:
    """The toy context of token ids: 77-row chunks of <bos>, ≤ 75 ids, <eos> padding."""
    rows: list[int] = []
    for start in range(0, max(len(ids), 1), 75):
        body = ids[start : start + 75]
        rows += [BOS, *body] + [EOS] * (76 - len(body))
    return EYE[torch.tensor(rows)].unsqueeze(0)


def ids_of(text: str) -> list[int]:
    return [TOKEN_IDS[w] for w in words(text)]


@pytest.mark.parametrize("text", ["", "a red circle on the left", "blue square " * 60,
                                  "unknown words only", "Red, CIRCLE!"])
def test_plain_prompts_encode_as_one_hot_chunks(text: str) -> None:
    context, pooled = ToyClip().encode(text)
    assert torch.equal(context, one_hot_chunks(ids_of(text)))
    ids = ids_of(text)
    want = EYE[torch.tensor(ids)].mean(0) if ids else torch.zeros(CONTEXT_DIM)
    assert torch.equal(pooled, want[None])


def test_weights_move_rows_away_from_the_empty_prompt() -> None:
    context, _ = ToyClip().encode("a (red:1.3) circle ((left))")
    empty = one_hot_chunks([])[0]
    plain = one_hot_chunks(ids_of("red circle left"))[0]
    weights = torch.ones(77)
    weights[1], weights[3] = 1.3, 1.1 * 1.1  # red, left
    want = torch.where(weights[:, None] != 1, (plain - empty) * weights[:, None] + empty, plain)
    assert torch.equal(context[0], want)
    assert read_context(context) == [("red", "circle", "left")]
    faint, _ = ToyClip().encode("(red:0.4) circle")
    assert read_context(faint) == [("circle",)]  # ≤ 0.5: the UNet no longer reads it
    kept, _ = ToyClip().encode("(red:0.6) circle")
    assert read_context(kept) == [("red", "circle")]


def _embedding(folder: Path, name: str, *words_: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.safetensors"
    save_file({"clip_l": EYE[torch.tensor([TOKEN_IDS[w] for w in words_])].contiguous()}, path)
    return path


def test_embedding_rows_and_missing_names(tmp_path: Path) -> None:
    _embedding(tmp_path / "embeddings", "bluesq", "blue", "square")
    warned: list[str] = []
    ctx = OpContext.detached(folders=Folders(models=tmp_path), on_warning=warned.append)
    (entry,) = encode(Encode(text="embedding:bluesq on the left, embedding:ghost"),
                      ToyClip(), ctx=ctx)
    assert read_context(entry[0]) == [("blue", "square", "left")]
    assert warned == ["embedding:ghost does not exist in <models>/embeddings; ignored"]
    (weighted,) = encode(Encode(text="(embedding:bluesq:0.4) circle"), ToyClip(), ctx=ctx)
    assert read_context(weighted[0]) == [("circle",)]


def doc(text: str) -> dict[str, Any]:
    return {"format": "graphrt/1", "nodes": {
        "ckpt": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
        "pos": {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": text}}},
        "outputs": {"cond": "pos.out"}}


def test_embedding_files_are_in_the_key_and_warnings_are_events(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "embeddings"
    path = _embedding(folder, "shape", "blue", "square")
    rt = Runtime(models_dir=tmp_path / "models", output_dir=tmp_path, device="cpu")
    text = "a embedding:shape on the left embedding:ghost"
    seen: list[ev.Event] = []
    first = rt.run(doc(text), on_event=seen.append)
    assert first.ok, first.failed
    assert read_context(first.outputs["cond"][0][0]) == [("blue", "square", "left")]
    (warning,) = [e for e in seen if isinstance(e, ev.NodeWarning)]
    assert (warning.node, warning.op) == ("pos", "text.encode") and "ghost" in warning.message
    assert rt.run(doc(text)).executed == []
    stat = path.stat()
    _embedding(folder, "shape", "red", "circle")  # same size, same mtime: the hash tells
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    edited = rt.run(doc(text))
    assert edited.executed == ["pos"]
    assert read_context(edited.outputs["cond"][0][0]) == [("red", "circle", "left")]
    _embedding(folder, "ghost", "green")  # the missing one appears
    added = rt.run(doc(text))
    assert added.executed == ["pos"]
    assert read_context(added.outputs["cond"][0][0]) == [("red", "circle", "left", "green")]
    fresh = Runtime(models_dir=tmp_path / "models", output_dir=tmp_path, device="cpu")
    plain = fresh.plan(doc("a red circle")).plan
    assert "pos" not in plain.fingerprints  # no reference, nothing added to the key


class Payload:
    """Pickles to a call that would create `marker` when unpickled without weights_only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_pickles_load_only_with_weights_only(tmp_path: Path) -> None:
    folder = tmp_path / "embeddings"
    folder.mkdir()
    vec = EYE[torch.tensor([TOKEN_IDS["yellow"], TOKEN_IDS["triangle"]])]
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": vec}, "name": "yt",
                "step": 500}, folder / "yt.pt")
    marker = tmp_path / "executed"
    torch.save({"string_to_param": {"*": Payload(marker)}}, folder / "evil.bin")
    ctx = OpContext.detached(folders=Folders(models=tmp_path))
    (entry,) = encode(Encode(text="embedding:yt.pt top"), ToyClip(), ctx=ctx)
    assert read_context(entry[0]) == [("yellow", "triangle", "top")]
    with pytest.raises(UnsafePickle, match="evil.bin: refused to load.*nothing in it was run"):
        encode(Encode(text="embedding:evil"), ToyClip(), ctx=ctx)
    assert not marker.exists()
    (folder / "broken.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="embedding broken.safetensors: cannot be read"):
        encode(Encode(text="embedding:broken"), ToyClip(), ctx=ctx)


def test_the_cli_prints_node_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    printer = ProgressPrinter(enabled=False)
    printer(ev.NodeWarning("run", "pos", "text.encode", "embedding:x does not exist"))
    assert printer.warned == ["embedding:x does not exist"]
    assert "warning: pos (text.encode): embedding:x does not exist" in capsys.readouterr().err
