"""No op mutates its inputs (cached values are shared): checked on every op of the library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphrt import default_registry
from graphrt.core.context import OpContext
from graphrt.core.paths import Folders
from graphrt.core.values import content_digest
from tests.ops.samples import sample_value

PARAMS: dict[str, dict[str, Any]] = {
    "model.load_checkpoint": {"name": "toy-shapes"},
    "model.load_upscaler": {"name": "tiny.safetensors"},
    "image.load": {"name": "example.png"},
    "mask.load": {"name": "example.png"},
    "sample.steps": {"steps": 3, "cfg": 2.0},
    "sample.unsample": {"steps": 3},
    "sample.separated": {"steps": 3, "cfg": 2.0, "start": 1, "end": 3},
    "sample.regional_batched": {"steps": 3, "overlap_factor": 4},
    "image.upscale_with_model": {"tile": 64, "overlap": 8},
    "latent.empty": {"width": 64, "height": 64},
    "mask.rect": {"width": 64, "height": 64, "w": 16, "h": 16},
    # toy inputs: strength 0 passes them through; real models in tests/real/test_lora.py
    "model.lora_model_only": {"name": "x.safetensors", "strength_model": 0},
    "model.lora_clip": {"name": "x.safetensors", "strength_clip": 0},
    "model.merge_simple": {"ratio": 0.5},
    "model.merge_clip_simple": {"ratio": 0.5},
    "model.load_vae": {"name": "toy-shapes"},  # real files: tests/real/test_vae_loader.py
    "model.sampling_discrete": {"sampling": "lcm", "zsnr": True},
}
VARIADIC = {"sample.regional_batched": 1}  # one grown mask per region of the sample value
SKIP_WITHOUT_FILES = {"model.load_upscaler"}  # needs a real upscaler file (test_upscale.py)
SPECS = [s for s in default_registry() if not s.is_macro and s.name not in SKIP_WITHOUT_FILES]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_op_leaves_inputs_untouched(spec: Any, tmp_path: Path) -> None:
    params = spec.params.model_validate(PARAMS.get(spec.name, {}))
    args: list[Any] = []
    for port in spec.inputs:
        if port.variadic:
            args += [sample_value(port.type.name)] * VARIADIC.get(spec.name, 2)
        else:
            args.append(sample_value(port.type.name))
    before = [content_digest(a) for a in args]
    kwargs = {}
    if "ctx" in spec.injected:
        kwargs["ctx"] = OpContext.detached(folders=Folders(tmp_path, tmp_path, tmp_path / "out"))
    result = spec.fn(params, *args, **kwargs)
    assert spec.outputs_of(result)
    after = [content_digest(a) for a in args]
    assert after == before, f"{spec.name} mutated an input"


def test_every_op_is_covered() -> None:
    names = {s.name for s in default_registry() if not s.is_macro}
    assert names - SKIP_WITHOUT_FILES == {s.name for s in SPECS}
