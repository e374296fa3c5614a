"""TwoAdvancedSamplersForMask as ComfyUI + Impact Pack compute it, written from their code path
and independent of graphrt's kernels: its own discrete table, schedules, sigma → timestep,
denoiser, mask handling and Euler loop. Only the network ε̂(x_in, t, context, y) is shared.

Read (facts only): ComfyUI-Impact-Pack 727295b (special_samplers.py
TwoAdvancedSamplersForMask.doit → RegionalSampler.doit; impact_sampling.py separated_sample,
sample_with_custom_noise, calculate_sigmas; core.py erosion_mask) and ComfyUI's current
comfy/model_sampling.py (ModelSamplingDiscrete: the table in float64, `sigmas` = float32 of
it, `log_sigmas` = float32 of its float64 log; timestep(σ) = argmin |ln σ − log_sigmas|;
sigma(t) interpolates log_sigmas in float32), comfy/samplers.py (normal_scheduler: float32
linspace 999 → 0, `float(sigma(t))` per point; KSAMPLER.sample: max-denoise test and
noise_scaling; KSamplerX0Inpaint; CFG), comfy/sample.py / sampler_helpers (mask resized
bilinearly, not rounded), nodes.py LatentCompositeMasked and k-diffusion's sample_euler.

`recorder`, when given, is called with (label, bundle, input latent, mask, sigmas, output) for
every sampler call, so a test can replay each call through graphrt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

Latent = dict[str, Any]
Recorder = Callable[[str, dict, torch.Tensor, "torch.Tensor | None", torch.Tensor,
                     torch.Tensor], None]


class ModelSampling:
    """ComfyUI's ModelSamplingDiscrete for the scaled-linear schedule (eps)."""

    def __init__(self, beta_start: float = 0.00085, beta_end: float = 0.012,
                 n: int = 1000) -> None:
        betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=torch.float64) ** 2
        bar = torch.cumprod(1.0 - betas, dim=0)
        sigmas = ((1 - bar) / bar) ** 0.5
        self.sigmas = sigmas.float()
        self.log_sigmas = sigmas.log().float()

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        dists = sigma.log() - self.log_sigmas[:, None]
        return dists.abs().argmin(dim=0).view(sigma.shape)

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        t = torch.clamp(t.float(), min=0, max=len(self.sigmas) - 1)
        lo, hi, w = t.floor().long(), t.ceil().long(), t.frac()
        return ((1 - w) * self.log_sigmas[lo] + w * self.log_sigmas[hi]).exp()

    def schedule(self, name: str, n: int) -> torch.Tensor:
        """calculate_sigmas(model_sampling, name, n) for normal, sgm_uniform and karras."""
        if name in ("normal", "sgm_uniform"):
            a, b = self.timestep(self.sigma_max), self.timestep(self.sigma_min)
            ts = torch.linspace(a, b, n + 1)[:-1] if name == "sgm_uniform" else \
                torch.linspace(a, b, n)
            return torch.FloatTensor([float(self.sigma(t)) for t in ts] + [0.0])
        if name == "karras":
            lo, hi = float(self.sigma_min) ** (1 / 7.0), float(self.sigma_max) ** (1 / 7.0)
            ramp = torch.linspace(0, 1, n)
            return torch.cat([(hi + ramp * (lo - hi)) ** 7.0, torch.zeros(1)])
        raise ValueError(f"reference has no scheduler {name!r}")


MS = ModelSampling()


def prepare_noise(samples: torch.Tensor, seed: int) -> torch.Tensor:
    gen = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(samples.size(), dtype=torch.float32, generator=gen, device="cpu")


def resize_mask(mask: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """comfy.utils.reshape_mask: bilinear to the latent's H, W, over channels and batch."""
    m = mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).float()
    m = F.interpolate(m, size=(shape[2], shape[3]), mode="bilinear")
    return m.repeat(shape[0] // m.shape[0], shape[1], 1, 1)


def guided(bundle: dict, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """CFG over eps predictions: x − σ·ε̂(x/√(σ²+1), t(σ)), uncond + cfg·(cond − uncond)."""
    net = bundle["model"].net
    s = sigma.view(-1, 1, 1, 1)
    x_in = x / (s ** 2 + 1.0) ** 0.5
    t = MS.timestep(sigma).float()

    def denoised(cond: list) -> torch.Tensor:
        ctx = cond[0][0].to(x.dtype).repeat(x.shape[0], 1, 1)
        return x - net(x_in, t, ctx, None) * s

    pos = denoised(bundle["positive"])
    if math.isclose(bundle["cfg"], 1.0):
        return pos
    neg = denoised(bundle["negative"])
    return neg + (pos - neg) * bundle["cfg"]


def sample_custom(bundle: dict, noise: torch.Tensor, sigmas: torch.Tensor,
                  samples: torch.Tensor, mask: torch.Tensor | None, k: float) -> torch.Tensor:
    """comfy.sample.sample_custom with k-diffusion's Euler (s_churn 0)."""
    latent = samples * k if torch.count_nonzero(samples) > 0 else samples
    smax, first = float(MS.sigma_max), float(sigmas[0])
    if math.isclose(smax, first, rel_tol=1e-05) or first > smax:
        x = noise * torch.sqrt(1.0 + sigmas[0] ** 2.0) + latent
    else:
        x = noise * sigmas[0] + latent
    m = resize_mask(mask, x.shape) if mask is not None else None

    def model(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if m is None:
            return guided(bundle, x, sigma)
        x_in = x * m + (latent + noise * sigma.view(-1, 1, 1, 1)) * (1.0 - m)
        return guided(bundle, x_in, sigma) * m + latent * (1.0 - m)

    ones = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        if bundle["sampler"] != "euler":
            raise ValueError("the reference follows Euler only")
        den = model(x, sigmas[i] * ones)
        d = (x - den) / sigmas[i]
        x = x + d * (sigmas[i + 1] - sigmas[i])
    return x.to(torch.float32) / k


def separated_sample(bundle: dict, add_noise: bool, seed: int, steps: int, latent: Latent,
                     a: int, b: int, leftover: bool, ratio: float,
                     noise: torch.Tensor | None = None, label: str = "",
                     recorder: Recorder | None = None) -> Latent:
    """Impact's separated_sample (leftover on: the sampler state is returned)."""
    assert leftover, "Impact's TwoAdvancedSamplersForMask keeps leftover noise on every call"
    total = MS.schedule(bundle["scheduler"], steps)
    sigmas = total[: b + 1] if b < len(total) - 1 else total
    if a >= len(sigmas) - 1:
        return latent
    sigmas = sigmas[a:] * ratio
    samples = latent["samples"]
    if noise is None:
        noise = prepare_noise(samples, seed) if add_noise else torch.zeros_like(samples)
    mask = latent.get("noise_mask")
    out = sample_custom(bundle, noise, sigmas, samples, mask, bundle["model"].latent_scale)
    if recorder is not None:
        recorder(label, bundle, samples, mask, sigmas, out)
    return {**latent, "samples": out}


def erosion_mask(mask: torch.Tensor, grow: int) -> torch.Tensor:
    """core.erosion_mask at the mask's own size (its axes swapped, then cropped back)."""
    mask = mask.reshape(mask.shape[-2], mask.shape[-1])
    w, h = mask.shape[1], mask.shape[0]
    m2 = F.interpolate(mask.reshape(-1, 1, h, w), size=(w, h), mode="bilinear")
    if grow == 0:
        out = m2
    else:
        kernel = torch.ones((1, 1, grow, grow))
        out = torch.clamp(F.conv2d(m2.round(), kernel, padding=math.ceil((grow - 1) / 2)), 0, 1)
    return out[:, :, :w, :h].round()


def composite(destination: torch.Tensor, source: torch.Tensor, mask: torch.Tensor
              ) -> torch.Tensor:
    """LatentCompositeMasked at (0, 0): mask resized bilinearly to the source."""
    m = F.interpolate(mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]),
                      size=(source.shape[2], source.shape[3]), mode="bilinear")
    return m * source + (1.0 - m) * destination


def two_samplers_for_mask(base: dict, mask_sampler: dict, mask: torch.Tensor, latent: Latent,
                          *, seed: int, steps: int, denoise: float, overlap: int,
                          recorder: Recorder | None = None) -> Latent:
    """TwoAdvancedSamplersForMask.doit → RegionalSampler.doit(seed_2nd_mode "ignore",
    base_only_steps 1, restore_latent, "ratio between" 0.3, AUTO); Euler is not an SP sampler,
    so no call has a recovery pass and every sigma_ratio is 1."""
    mask2d = mask.reshape(mask.shape[-2], mask.shape[-1])
    inv = torch.where(torch.ceil(mask2d) == 0, torch.tensor(1.0), torch.tensor(0.0))
    grown = erosion_mask(mask2d, overlap).squeeze(0).squeeze(0)
    adv = int(steps / denoise)
    start = adv - steps
    samples: Latent = {"samples": latent["samples"]}
    noise = prepare_noise(samples["samples"], seed)
    samples = separated_sample(base, True, seed, adv, samples, start, start + 1, True, 1.0,
                               noise=noise, label=f"{start}.base_only", recorder=recorder)
    current = dict(samples)
    based: Latent | None = None
    for i in range(start + 1, adv):
        current["noise_mask"] = inv
        current = separated_sample(base, False, seed, adv, current, i, i + 1, True, 1.0,
                                   label=f"{i}.base", recorder=recorder)
        current.pop("noise_mask", None)
        based = dict(current)
        region = {**based, "noise_mask": grown}
        region = separated_sample(mask_sampler, False, seed, adv, region, i, i + 1, True, 1.0,
                                  label=f"{i}.mask", recorder=recorder)
        based = {**based, "samples": composite(based["samples"], region["samples"], grown)}
        current = based
    # finalize: a base call over [adv, adv + 1) starts past the schedule and returns its input
    out = dict(based if based is not None else current)
    out.pop("noise_mask", None)
    return out
