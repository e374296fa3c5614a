"""The op library's port types: the values diffusion graphs pass along their links.

Conventions follow ComfyUI so graphs and users carry over:
LATENT = {"samples": [B,4,H/8,W/8] raw VAE units, optional "noise_mask", optional
"batch_index"}; IMAGE = float [B,H,W,3] in [0,1]; MASK = float [B,H,W] or [H,W] in [0,1];
CONDITIONING = list of [context [1,T,D], {"pooled_output": ..., ...}] entries.
"""

from __future__ import annotations

from typing import Annotated, Any

from graphrt.core.types import PortType

MODEL = PortType("MODEL", "a denoiser (UNet behind a discrete-time sampling wrapper)")
CLIP = PortType("CLIP", "a text encoder")
VAE = PortType("VAE", "an image autoencoder")
CONDITIONING = PortType("CONDITIONING", "a list of [context, options] entries")
LATENT = PortType("LATENT", "{samples, noise_mask?, batch_index?} in raw VAE units")
IMAGE = PortType("IMAGE", "float [B,H,W,3] in [0,1]")
MASK = PortType("MASK", "float [B,H,W] or [H,W] in [0,1]")
UPSCALE_MODEL = PortType("UPSCALE_MODEL", "an image-to-image upscaler")
SIGMAS = PortType("SIGMAS", "a descending noise schedule ending in 0")
SAMPLER = PortType("SAMPLER", "model, conditioning, cfg, sampler, scheduler, sigma factor")
REGIONAL_PROMPTS = PortType("REGIONAL_PROMPTS", "a list of (mask, SAMPLER) regions")

Model = Annotated[Any, MODEL]
Clip = Annotated[Any, CLIP]
Vae = Annotated[Any, VAE]
Conditioning = Annotated[Any, CONDITIONING]
Latent = Annotated[dict[str, Any], LATENT]
Image = Annotated[Any, IMAGE]
Mask = Annotated[Any, MASK]
UpscaleModel = Annotated[Any, UPSCALE_MODEL]
Sigmas = Annotated[Any, SIGMAS]
Sampler = Annotated[Any, SAMPLER]
RegionalPrompts = Annotated[Any, REGIONAL_PROMPTS]

# Custom sampling (ComfyUI's SamplerCustom family). ComfyUI calls a sampling algorithm
# "SAMPLER"; here that is SAMPLER_FN, since SAMPLER is Impact's KSAMPLER_ADVANCED bundle.
SAMPLER_FN = PortType("SAMPLER_FN", "a sampling algorithm: {name} (ComfyUI's SAMPLER)")
NOISE = PortType("NOISE", "initial noise: {add, seed} (ComfyUI's NOISE)")
GUIDER = PortType("GUIDER", "a guided denoiser: {model, positive, negative, cfg}")

SamplerFn = Annotated[dict[str, Any], SAMPLER_FN]
Noise = Annotated[dict[str, Any], NOISE]
Guider = Annotated[dict[str, Any], GUIDER]

# Impact Pack's pipe (ToBasicPipe, FromBasicPipe, EditBasicPipe).
BASIC_PIPE = PortType("BASIC_PIPE", "Impact Pack's pipe: model, clip, vae, positive, negative")
BasicPipe = Annotated[Any, BASIC_PIPE]

# Impact Pack's KSAMPLER (KSamplerProvider): a whole sampling run's settings with its model.
KSAMPLER = PortType("KSAMPLER", "Impact's KSAMPLER: model, conditioning, seed, steps, cfg, "
                    "sampler, scheduler, denoise")
KSampler = Annotated[dict[str, Any], KSAMPLER]
