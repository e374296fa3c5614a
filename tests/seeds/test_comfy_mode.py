"""Noise mode "comfy" equals ComfyUI's noise computed in the test (tests/seeds/
comfy_reference.py: one torch.Generator per sampler call, ComfyUI's Brownian tree over the
call's σ range), whole-range and as the seed macros unroll the calls; ComfyUI documents get
it by default (docs/reproducibility.md)."""

from __future__ import annotations

from typing import Any

import comfy_reference as cr
import pytest
import torch
import toy_graphs as tg

from graphrt import Runtime

TOL = 1e-6
PROMPT = "a red circle on the left"
SAMPLERS = ["euler_ancestral", "dpm_2_ancestral", "dpmpp_2s_ancestral", "dpmpp_sde",
            "dpmpp_2m_sde", "dpmpp_3m_sde"]
ZERO = torch.zeros(1, 4, 8, 8)


def steps_graph(*params: dict[str, Any]) -> dict[str, Any]:
    """A chain of sample.steps nodes s0 → s1 → … from an empty latent."""
    nodes: dict[str, Any] = {
        "ckpt": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
        "pos": {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": PROMPT}},
        "neg": {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": ""}},
        "empty": {"op": "latent.empty", "params": {"width": 64, "height": 64}},
    }
    latent = "empty.out"
    for j, p in enumerate(params):
        nodes[f"s{j}"] = {"op": "sample.steps", "params": p, "in": {
            "model": "ckpt.model", "positive": "pos.out", "negative": "neg.out",
            "latent": latent}}
        latent = f"s{j}.out"
    return tg.doc(nodes, latent)


def run(graph: dict[str, Any]) -> torch.Tensor:
    result = Runtime(device="cpu").run(graph)
    assert result.ok, result.failed
    samples: torch.Tensor = result.outputs["out"]["samples"]
    return samples


def diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


CALLS = [
    {"steps": 6, "scheduler": "karras"},
    {"steps": 5, "scheduler": "normal", "denoise": 0.7, "seed": 2**64 - 1},
    {"steps": 8, "scheduler": "exponential", "start": 2, "end": 6, "leftover_noise": True},
]


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("call", CALLS)
def test_whole_call_equals_one_generator_per_call(sampler: str, call: dict[str, Any]) -> None:
    p = {"seed": 7, "cfg": 4.0, "sampler": sampler, "noise_mode": "comfy", **call}
    expected = cr.ksampler(tg.stage(PROMPT), ZERO, seed=p["seed"], steps=p["steps"],
                           cfg=4.0, sampler=sampler, scheduler=p["scheduler"],
                           start=p.get("start"), end=p.get("end"),
                           force_full=not p.get("leftover_noise", False),
                           denoise=p.get("denoise", 1.0))
    out = run(steps_graph(p))
    assert diff(out, expected) <= TOL
    assert diff(out, run(steps_graph({**p, "noise_mode": "graphrt"}))) > 1e-7 or \
        sampler in cr.SDE  # the SDE samplers' two trees may nearly coincide on a whole run


@pytest.mark.parametrize("sampler", ["euler_ancestral", "dpm_2_ancestral", "dpmpp_2s_ancestral"])
def test_unrolled_call_draws_the_next_samples(sampler: str) -> None:
    """Per-step nodes of ONE call (call_start 0): node j skips j draws, so the chain equals
    the whole call (to 1e-5: each hand-off rounds the latent, |x| ≈ 15 at the start); as
    separate calls each would draw the generator's first sample again."""
    common = {"seed": 4, "steps": 5, "cfg": 4.0, "sampler": sampler, "scheduler": "karras",
              "noise_mode": "comfy"}
    whole = run(steps_graph(common))
    chain = [{**common, "start": j, "end": j + 1, "add_noise": j == 0,
              "leftover_noise": j < 4, "call_start": 0} for j in range(5)]
    assert diff(run(steps_graph(*chain)), whole) <= 1e-5
    separate = [{k: v for k, v in c.items() if k != "call_start"} for c in chain]
    assert diff(run(steps_graph(*separate)), whole) > 1e-3


def searge(base: tuple, refiner: tuple, *, seed: int, steps: int, sampler: str,
           scheduler: str, base_ratio: float, denoise: float, strength: float) -> torch.Tensor:
    """SeargeSDXLSampler2 (§11.1), no prep steps: two KSampler calls, two generators."""
    b = int(steps * (base_ratio + 0.0001))
    kw = {"steps": steps, "cfg": 7.0, "sampler": sampler, "scheduler": scheduler}
    out = cr.ksampler(base, ZERO, seed=seed, start=0, end=b, denoise=denoise, **kw)
    return cr.ksampler(refiner, out, seed=seed + 1, start=b, end=steps,
                       denoise=denoise * strength, **kw)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_split_macro_restarts_the_generator_per_stage(sampler: str) -> None:
    params = {"seed": 11, "steps": 6, "sampler": sampler, "scheduler": "karras",
              "base_ratio": 0.5, "refiner_strength": 0.8, "noise_mode": "comfy"}
    out = run(tg.split_graph(params, PROMPT))
    expected = searge(tg.stage(PROMPT), tg.stage(PROMPT, "toy-shapes-refiner"), seed=11,
                      steps=6, sampler=sampler, scheduler="karras", base_ratio=0.5,
                      denoise=1.0, strength=0.8)
    assert diff(out, expected) <= TOL


@pytest.mark.parametrize("sampler", ["euler_ancestral", "lcm"])
def test_fused_regional_equals_the_unrolled_graph_in_comfy_mode(sampler: str) -> None:
    params = {"steps": 5, "overlap_factor": 4, "seed": 2, "noise_mode": "comfy"}
    unrolled = Runtime(device="cpu").run(tg.regional_graph(
        {**params, "order": "parallel"}, sampler)).outputs["out"]["samples"]
    fused = Runtime(device="cpu").run(tg.regional_graph(
        params, sampler, op="sample.regional_fused")).outputs["out"]["samples"]
    assert diff(fused, unrolled) <= 1e-5


def comfy_document(sampler: str) -> dict[str, Any]:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "toy-shapes"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": PROMPT, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64,
                                                            "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": 9, "steps": 6, "cfg": 4.0, "sampler_name": sampler, "scheduler": "karras",
            "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
            "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }


def test_comfyui_documents_default_to_comfy_noise() -> None:
    from graphrt.compat.comfy.classes import CLASSES
    from graphrt.compat.comfy.translate import translate

    sampling = {id(c): c for c in CLASSES.values() if c.op.startswith("sample.")}.values()
    assert len(sampling) >= 7 and all(c.fixed.get("noise_mode") == "comfy" for c in sampling)
    assert CLASSES["BNK_Unsampler"] is CLASSES["Unsampler"]  # an alias, not an eighth class
    native, issues = translate(comfy_document("euler_ancestral"))
    assert native is not None and not issues
    assert native["nodes"]["3"]["params"]["noise_mode"] == "comfy"
    expected = cr.ksampler(tg.stage(PROMPT), ZERO, seed=9, steps=6, cfg=4.0,
                           sampler="euler_ancestral", scheduler="karras")
    assert diff(run({**native, "outputs": {"out": "3.out"}}), expected) <= TOL


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("sampler", ["euler_ancestral", "dpmpp_2m_sde"])
def test_comfy_mode_on_cuda_draws_where_comfyui_does(sampler: str) -> None:
    """Ancestral noise from CUDA's generator seeded with the seed (no + 1), trees on CPU."""
    from graphrt.ops.models.toy import load_toy

    p = {"seed": 7, "steps": 6, "cfg": 4.0, "sampler": sampler, "scheduler": "karras",
         "noise_mode": "comfy"}
    result = Runtime(device="cuda", dtype="fp32").run(steps_graph(p))
    assert result.ok, result.failed
    out = result.outputs["out"]["samples"]
    assert out.device.type == "cuda"
    model, clip, _ = load_toy("toy-shapes", device="cuda")
    stage = (model, [[c, {"pooled_output": q}] for c, q in [clip.encode(PROMPT)]],
             [[c, {"pooled_output": q}] for c, q in [clip.encode("")]])
    expected = cr.ksampler(stage, ZERO.cuda(), seed=7, steps=6, cfg=4.0, sampler=sampler,
                           scheduler="karras")
    assert diff(out, expected) <= 1e-5
    on_cpu = run(steps_graph(p))
    if sampler in cr.ANCESTRAL:  # CUDA's stream is not the CPU's, as in ComfyUI
        assert diff(out.cpu(), on_cpu) > 1e-3
    else:
        assert diff(out.cpu(), on_cpu) <= 1e-4
