"""RegionalSamplerAdvanced in a ComfyUI document runs Impact's current loop (Impact 727295b,
special_samplers.py): per step i = start … end−2 the base call then each region's call, then
a final base call end−1 → end whose result restore_latent discards. That is sample.regional
with `legacy: true` (docs/semantics.md §8.3 items 1–2); the class used to leave it off, so a
ComfyUI document got graphrt's fixed loop instead of the picture ComfyUI gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_impact_classes import impact_prompt, native, run_both

from graphrt import Runtime
from graphrt.compat.comfy.classes import CLASSES


def regional(legacy: bool) -> dict:
    return {"op": "sample.regional", "in": {"latent": "lat.out", "base_sampler": "base.out",
                                            "regional_prompts": "rps.out"},
            "params": {"seed": 5, "steps": 3, "start": 0, "end": 10000, "overlap_factor": 4,
                       "noise_mode": "comfy", "legacy": legacy}}


def test_the_class_fixes_legacy_and_comfy_noise() -> None:
    assert CLASSES["RegionalSamplerAdvanced"].fixed == {"noise_mode": "comfy", "legacy": True}


def test_a_comfyui_document_gets_impacts_loop(tmp_path: Path) -> None:
    comfy, legacy = run_both(tmp_path, impact_prompt(), native(regional(True)))
    np.testing.assert_array_equal(comfy, legacy)
    fixed = Runtime(device="cpu", output_dir=tmp_path / "c").run(native(regional(False)))
    assert fixed.ok
    from test_impact_classes import pixels

    other = pixels(tmp_path / "c", fixed.outputs["out"])
    assert np.abs(other.astype(int) - comfy.astype(int)).max() > 0  # the loops differ
