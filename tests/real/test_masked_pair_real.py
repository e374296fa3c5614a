"""sample.masked_pair on a tiny real-layout SD 1.5 checkpoint (random weights) against
TwoAdvancedSamplersForMask as ComfyUI + Impact compute it (tests/seeds/comfy_impact_path.py),
from the VAE encoding of an image with denoise < 1: the UNet is the one place where the
timestep a σ maps to changes the prediction everywhere (docs/reproducibility.md §8).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from graphrt import Runtime
from graphrt.ops.kernels.separated import run_separated
from tests.real.conftest import TinyModels
from tests.real.tiny import FILES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "seeds"))
import comfy_impact_path as cip  # noqa: E402

SEED, SIZE = 11, 64
BOX = {"x": 8, "y": 16, "w": 32, "h": 24}


def graph(steps: int, denoise: float, scheduler: str) -> dict[str, Any]:
    def enc(text: str) -> dict[str, Any]:
        return {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": text}}

    def sampler(pos: str, cfg: float) -> dict[str, Any]:
        return {"op": "sample.sampler", "in": {"model": "ckpt.model", "positive": pos,
                                               "negative": "neg.out"},
                "params": {"cfg": cfg, "sampler": "euler", "scheduler": scheduler}}

    nodes = {
        "ckpt": {"op": "model.load_checkpoint", "params": {"name": FILES["sd1"]}},
        "pos": enc("a blue lake"), "mpos": enc("a red fox"), "neg": enc("blurry"),
        "base_s": sampler("pos.out", 5.0), "mask_s": sampler("mpos.out", 4.0),
        "load": {"op": "image.load", "params": {"name": "example.png"}},
        "small": {"op": "image.scale", "in": {"image": "load.image"},
                  "params": {"width": SIZE, "height": SIZE, "method": "area"}},
        "enc": {"op": "latent.encode", "in": {"vae": "ckpt.vae", "image": "small.out"}},
        "mask": {"op": "mask.rect", "params": {"width": SIZE, "height": SIZE, **BOX}},
        "pair": {"op": "sample.masked_pair", "in": {
            "latent": "enc.out", "base_sampler": "base_s.out", "mask_sampler": "mask_s.out",
            "mask": "mask.out"}, "params": {"seed": SEED, "steps": steps, "denoise": denoise,
                                            "overlap_factor": 10, "noise_mode": "comfy"}},
    }
    return {"format": "graphrt/1", "nodes": nodes, "outputs": {
        "out": "pair.out", "latent": "enc.out", "model": "ckpt.model", "pos": "pos.out",
        "mpos": "mpos.out", "neg": "neg.out", "mask": "mask.out"}}


# N′ = 11: the normal schedule's t = 499.5 is loop step 5 (old code: 4.4e-3 relative);
# karras has no such tie (1e-6 before and after)
@pytest.mark.parametrize(("steps", "denoise", "scheduler"),
                         [(7, 0.6, "normal"), (6, 0.6, "karras")])
def test_masked_pair_equals_comfyui_impact_on_sd15(tiny_models: TinyModels, steps: int,
                                                   denoise: float, scheduler: str) -> None:
    rt = Runtime(models_dir=tiny_models.models_dir, device="cpu", strict=True)
    result = rt.run(graph(steps, denoise, scheduler))
    assert result.ok, result.failed
    o = result.outputs
    latent = o["latent"]["samples"]
    assert float(latent.abs().min()) > 0.0
    base = {"model": o["model"], "positive": o["pos"], "negative": o["neg"], "cfg": 5.0,
            "sampler": "euler", "scheduler": scheduler}
    masked = {**base, "positive": o["mpos"], "cfg": 4.0}
    calls: list[tuple[str, dict, torch.Tensor, torch.Tensor | None, torch.Tensor]] = []
    expected = cip.two_samplers_for_mask(
        base, masked, o["mask"], {"samples": latent}, seed=SEED, steps=steps, denoise=denoise,
        overlap=10, recorder=lambda label, b, x, m, s, out: calls.append((label, b, x, m, out)))
    total = int(steps / denoise)
    scale = float(expected["samples"].abs().max())
    # each call of Impact's path, replayed by graphrt's kernel from the same input latent
    for label, b, x, m, out in calls:
        i = int(label.split(".")[0])
        got = run_separated(b["model"], {"samples": x}, b["positive"], b["negative"],
                            seed=SEED, steps=total, cfg=b["cfg"], sampler="euler",
                            scheduler=scheduler, start=i, end=i + 1,
                            add_noise=label.endswith("base_only"), leftover=True, mask=m,
                            noise_mode="comfy")["samples"]
        assert float((got - out).abs().max()) <= 1e-5 * scale, label
    out = o["out"]["samples"]
    assert float((out - expected["samples"]).norm() / expected["samples"].norm()) <= 1e-5
