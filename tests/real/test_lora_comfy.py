"""The ComfyUI LoRA and merge classes (classes_models.py) translate and run on tiny files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphrt import Runtime
from graphrt.compat.comfy import classes
from graphrt.compat.comfy.classes_models import MODEL_CLASSES
from tests.real.test_lora import Loras, loras  # noqa: F401  (the module fixture)
from tests.real.tiny import FILES


@pytest.fixture()
def with_model_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, cls in MODEL_CLASSES.items():  # what the lead's CLASSES.update will do
        monkeypatch.setitem(classes.CLASSES, name, cls)


def test_classes_declare_comfy_inputs() -> None:
    lora = MODEL_CLASSES["LoraLoader"]
    assert [i.name for i in lora.inputs] == ["model", "clip", "lora_name", "strength_model",
                                             "strength_clip"]
    assert [i.default for i in lora.inputs[3:]] == [1.0, 1.0]
    assert [i.name for i in MODEL_CLASSES["ModelMergeSubtract"].inputs] == [
        "model1", "model2", "multiplier"]
    from graphrt import default_registry

    registry = default_registry()
    for cls in MODEL_CLASSES.values():
        spec = registry.get(cls.op)
        for i in cls.inputs:
            assert i.to in spec.params.model_fields or any(p.name == i.to for p in spec.inputs)
            if not i.is_link and i.default is not classes.REQUIRED:
                assert spec.params.model_fields[i.to].default == i.default, (cls.op, i.name)


def test_lora_loader_prompt_runs(loras: Loras, tmp_path: Path,  # noqa: F811
                                 with_model_classes: None) -> None:
    prompt: dict[str, Any] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": FILES["sd1"]}},
        "2": {"class_type": "LoraLoader", "inputs": {
            "model": ["1", 0], "clip": ["1", 1], "lora_name": "sd1_kohya.safetensors",
            "strength_model": 0.8, "strength_clip": 0.5}},
        "3": {"class_type": "ModelMergeSimple", "inputs": {
            "model1": ["2", 0], "model2": ["1", 0], "ratio": 0.5}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 1], "text": "a cat"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64,
                                                           "batch_size": 1}},
        "6": {"class_type": "KSampler", "inputs": {
            "model": ["3", 0], "positive": ["4", 0], "negative": ["4", 0],
            "latent_image": ["5", 0], "seed": 1, "steps": 2, "cfg": 2.0,
            "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
        "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
        "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0],
                                                    "filename_prefix": "lora"}}}
    rt = Runtime(models_dir=loras.tiny.models_dir, output_dir=tmp_path, device="cpu")
    result = rt.run(prompt)
    assert result.ok, result.failed
    assert list(tmp_path.glob("*.png"))
