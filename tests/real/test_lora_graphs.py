"""LoRA recipes as cache keys (counted reruns) and under a memory budget, on tiny files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from graphrt import Runtime
from graphrt.core.values import is_tensor
from tests.real.conftest import TinyModels
from tests.real.test_lora import Loras, loras  # noqa: F401  (the module fixture)
from tests.real.tiny import FILES


def doc(family: str, lora: str, sm: float, sc: float) -> dict[str, Any]:
    encode = {"op": "text.encode", "in": {"clip": "lora.clip"}}
    return {"format": "graphrt/1", "nodes": {
        "ckpt": {"op": "model.load_checkpoint", "params": {"name": FILES[family]}},
        "lora": {"op": "model.lora", "in": {"model": "ckpt.model", "clip": "ckpt.clip"},
                 "params": {"name": lora, "strength_model": sm, "strength_clip": sc}},
        "pos": {**encode, "params": {"text": "a red circle"}},
        "neg": {**encode, "params": {"text": ""}},
        "empty": {"op": "latent.empty", "params": {"width": 64, "height": 64}},
        "sample": {"op": "sample.steps", "in": {"model": "lora.model", "positive": "pos.out",
                                                "negative": "neg.out", "latent": "empty.out"},
                   "params": {"steps": 2, "cfg": 3.0}}},
        "outputs": {"latent": "sample.out"}}


def runtime(tiny: TinyModels, tmp_path: Path, **kw: Any) -> Runtime:
    return Runtime(models_dir=tiny.models_dir, output_dir=tmp_path, device="cpu",
                   strict=True, **kw)


def test_counted_reruns(loras: Loras, tmp_path: Path) -> None:  # noqa: F811
    rt = runtime(loras.tiny, tmp_path)
    name = "sd1_kohya.safetensors"
    first = rt.run(doc("sd1", name, 1.0, 1.0))
    assert first.ok, first.failed
    assert {"ckpt", "lora/model", "lora/clip", "pos", "neg", "sample"} <= set(first.executed)
    model_only = rt.run(doc("sd1", name, 0.5, 1.0))
    assert set(model_only.executed) == {"lora/model", "sample"}
    clip_too = rt.run(doc("sd1", name, 0.5, 0.25))
    assert set(clip_too.executed) == {"lora/clip", "pos", "neg", "sample"}
    back = rt.run(doc("sd1", name, 1.0, 1.0))
    assert set(back.executed) == set()
    assert torch.equal(back.outputs["latent"]["samples"], first.outputs["latent"]["samples"])


def test_strength_zero_is_bit_identical_to_no_lora(loras: Loras, tmp_path: Path) -> None:  # noqa: F811
    plain = doc("sdxl", "sdxl_kohya.safetensors", 0.0, 0.0)
    plain["nodes"]["lora"] = {"op": "model.lora_model_only", "in": {"model": "ckpt.model"},
                              "params": {"name": "sdxl_kohya.safetensors", "strength_model": 0}}
    for node in ("pos", "neg"):
        plain["nodes"][node]["in"]["clip"] = "ckpt.clip"
    plain["nodes"]["sample"]["in"]["model"] = "lora.out"
    without = runtime(loras.tiny, tmp_path).run(plain)
    zero = runtime(loras.tiny, tmp_path).run(doc("sdxl", "sdxl_kohya.safetensors", 0.0, 0.0))
    one = runtime(loras.tiny, tmp_path).run(doc("sdxl", "sdxl_kohya.safetensors", 1.0, 1.0))
    assert without.ok and zero.ok and one.ok
    a, b = without.outputs["latent"]["samples"], zero.outputs["latent"]["samples"]
    assert torch.equal(a, b)
    assert not torch.equal(a, one.outputs["latent"]["samples"])


def _unique_bytes(store: Any) -> int:
    """Bytes of the distinct tensor storages the memory store's entries hold."""
    seen: dict[int, int] = {}
    stack = [v for v, _ in store._items.values()]
    visited: set[int] = set()
    while stack:
        v = stack.pop()
        if id(v) in visited:
            continue
        visited.add(id(v))
        if is_tensor(v):
            seen[v.untyped_storage().data_ptr()] = v.untyped_storage().nbytes()
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif isinstance(v, torch.nn.Module):
            stack.extend(v.state_dict().values())
        elif hasattr(v, "__dict__"):
            stack.extend(vars(v).values())
    return sum(seen.values())


def test_alternating_recipes_stay_within_the_memory_budget(loras: Loras,  # noqa: F811
                                                           tmp_path: Path) -> None:
    from graphrt.core.values import nbytes
    from graphrt.ops.lora import LoraModel, lora_model_only
    from tests.real.test_lora import ctx

    model = loras.base["sdxl"][0]
    patched = lora_model_only(LoraModel(name="sdxl_kohya.safetensors"), model, ctx=ctx(loras))
    budget = nbytes(patched) + (1 << 20)  # one patched model (counted whole) and small values
    rt = runtime(loras.tiny, tmp_path, memory_budget=budget)
    memory = rt.store.memory
    for i in range(4):
        name = ("sdxl_kohya.safetensors", "sdxl_peft.safetensors")[i % 2]
        result = rt.run(doc("sdxl", name, 1.0, 1.0))
        assert result.ok, result.failed
        assert memory.stats()["bytes"] <= budget
        assert _unique_bytes(memory) <= budget
