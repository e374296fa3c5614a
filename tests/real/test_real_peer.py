"""Cross-check with a peer: graphrt's SDXL base + refiner split equals diffusers' ensemble of
experts on the same tiny weights.

graphrt: two `sample.steps` nodes (euler, "simple" schedule, 4 steps; base [0, 2) with leftover
noise, refiner [2, 4) without adding noise). diffusers: `StableDiffusionXLPipeline` with
`denoising_end=0.5` then `StableDiffusionXLImg2ImgPipeline` with `denoising_start=0.5`, both
with `EulerDiscreteScheduler(timestep_spacing="trailing")`, whose timesteps 999, 749, 499, 249
are exactly the "simple" schedule's. Same initial noise: graphrt scales its first noise by
√(1+σ_max²) (docs/semantics.md §1.6, "max denoise"), diffusers by `init_noise_sigma` = σ_max for
trailing spacing, so the pipeline gets noise·√(1+σ_max²)/σ_max as its `latents`.
Tolerance: 1e-4 relative to the latent's scale, fp32 on the CPU (graphrt's sigma table is
float64, diffusers' float32; attention kernels are the same).
"""

from __future__ import annotations

import gzip
import math

import pytest
import torch

from graphrt import Runtime
from graphrt.ops.kernels.noise import prepare_noise
from graphrt.ops.models.real.tokenizer import NUM_MERGES, shared, vocab_path
from tests.real.conftest import TinyModels
from tests.real.tiny import FILES

PROMPT, NEGATIVE, SEED, SIZE, CFG = "a red fox in the snow", "blurry, grey", 7, 64, 5.0


def hf_tokenizer(pad: str) -> object:
    """transformers' CLIPTokenizer built from the vocabulary file clip-anytorch ships."""
    from transformers import CLIPTokenizer

    with gzip.open(vocab_path(), "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : NUM_MERGES + 1]]
    return CLIPTokenizer(vocab=dict(shared().ids), merges=merges, pad_token=pad,
                         model_max_length=77)


def graph() -> dict:
    sizes = {"width": SIZE, "height": SIZE, "target_width": SIZE, "target_height": SIZE}
    common = {"seed": SEED, "steps": 4, "cfg": CFG, "sampler": "euler", "scheduler": "simple"}
    return {"nodes": {
        "base": {"op": "model.load_checkpoint", "params": {"name": FILES["sdxl"]}},
        "refiner": {"op": "model.load_checkpoint", "params": {"name": FILES["sdxl_refiner"]}},
        "pos_b": {"op": "text.encode_sdxl", "in": {"clip": "base.clip"},
                  "params": {"text_g": PROMPT, "text_l": PROMPT, **sizes}},
        "neg_b": {"op": "text.encode_sdxl", "in": {"clip": "base.clip"},
                  "params": {"text_g": NEGATIVE, "text_l": NEGATIVE, **sizes}},
        "pos_r": {"op": "text.encode_sdxl_refiner", "in": {"clip": "refiner.clip"},
                  "params": {"text": PROMPT, "aesthetic_score": 6.0, "width": SIZE,
                             "height": SIZE}},
        "neg_r": {"op": "text.encode_sdxl_refiner", "in": {"clip": "refiner.clip"},
                  "params": {"text": NEGATIVE, "aesthetic_score": 2.5, "width": SIZE,
                             "height": SIZE}},
        "empty": {"op": "latent.empty", "params": {"width": SIZE, "height": SIZE}},
        "stage1": {"op": "sample.steps", "in": {"model": "base.model", "positive": "pos_b.out",
                                                "negative": "neg_b.out", "latent": "empty.out"},
                   "params": {**common, "start": 0, "end": 2, "leftover_noise": True}},
        "stage2": {"op": "sample.steps", "in": {"model": "refiner.model",
                                                "positive": "pos_r.out",
                                                "negative": "neg_r.out", "latent": "stage1.out"},
                   "params": {**common, "start": 2, "end": 4, "add_noise": False}},
    }, "outputs": {"stage1": "stage1.out", "stage2": "stage2.out"}}


def diffusers_ensemble(tiny_models: TinyModels) -> tuple[torch.Tensor, torch.Tensor]:
    from diffusers import (
        EulerDiscreteScheduler,
        StableDiffusionXLImg2ImgPipeline,
        StableDiffusionXLPipeline,
    )

    def scheduler() -> EulerDiscreteScheduler:
        return EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012,
                                      beta_schedule="scaled_linear", num_train_timesteps=1000,
                                      timestep_spacing="trailing", prediction_type="epsilon")

    b, r = tiny_models.tiny["sdxl"].modules, tiny_models.tiny["sdxl_refiner"].modules
    base = StableDiffusionXLPipeline(
        vae=b["vae"], text_encoder=b["clip_l"], text_encoder_2=b["clip_g"],
        tokenizer=hf_tokenizer("<|endoftext|>"), tokenizer_2=hf_tokenizer("!"),
        unet=b["unet"], scheduler=scheduler())
    refiner = StableDiffusionXLImg2ImgPipeline(
        vae=r["vae"], text_encoder=None, text_encoder_2=r["clip_g"], tokenizer=None,
        tokenizer_2=hf_tokenizer("!"), unet=r["unet"], scheduler=scheduler(),
        requires_aesthetics_score=True)
    for pipe in (base, refiner):
        pipe.set_progress_bar_config(disable=True)
    probe = scheduler()
    probe.set_timesteps(4)
    sigma_max = float(probe.sigmas.max())
    start = prepare_noise(torch.zeros(1, 4, SIZE // 8, SIZE // 8), SEED)
    latents = start * math.sqrt(1.0 + sigma_max**2) / float(probe.init_noise_sigma)
    with torch.no_grad():
        mid = base(prompt=PROMPT, negative_prompt=NEGATIVE, height=SIZE, width=SIZE,
                   num_inference_steps=4, denoising_end=0.5, guidance_scale=CFG,
                   latents=latents, output_type="latent").images
        out = refiner(prompt=PROMPT, negative_prompt=NEGATIVE, image=mid,
                      num_inference_steps=4, denoising_start=0.5, guidance_scale=CFG,
                      aesthetic_score=6.0, negative_aesthetic_score=2.5,
                      output_type="latent").images
    return mid, out


@pytest.mark.filterwarnings("ignore")
def test_split_sampler_equals_diffusers_ensemble_of_experts(tiny_models: TinyModels) -> None:
    ours = Runtime(models_dir=tiny_models.models_dir, device="cpu").run(graph()).outputs
    mid, out = diffusers_ensemble(tiny_models)
    k = 0.13025
    ours_mid, ours_out = ours["stage1"]["samples"] * k, ours["stage2"]["samples"] * k
    assert ours_out.shape == out.shape == (1, 4, SIZE // 8, SIZE // 8)
    scale = float(out.abs().max())
    assert float((ours_mid - mid).abs().max()) < 1e-4 * float(mid.abs().max())
    assert float((ours_out - out).abs().max()) < 1e-4 * scale, float((ours_out - out).abs().max())
