"""Custom sampling: ComfyUI's SamplerCustom family as small ops over explicit schedules.

`sampler.select` names a sampling algorithm (ComfyUI's SAMPLER, native SAMPLER_FN),
`noise.random` / `noise.disable` the initial noise (NOISE), `guider.cfg` / `guider.basic` /
`guider.dual_cfg` a guided denoiser (GUIDER, ops/kernels/guidance.py), and `sample.custom` /
`sample.custom_advanced` run one sampler call over a SIGMAS list (`schedule.*`, `sigmas.*`)
through the same kernel as `sample.steps` (`run_sigmas`): noise from the seed scaled by √(1 +
σ₀²) when σ₀ ≥ σ_max (else σ₀), CFG with the uncond branch skipped at cfg 1, the latent's
noise_mask honoured, [] returning the latent untouched. So SamplerCustom over BasicScheduler's
sigmas is KSampler at denoise 1 for every sampler that keeps its schedule (dpm_2,
dpm_2_ancestral and uni_pc drop the penultimate sigma in KSampler, not in BasicScheduler — as
in ComfyUI). Both sampling ops return (output, denoised_output): the latent, and the last
step's denoised prediction (the output itself when no step ran), ComfyUI's two outputs. With
DisableNoise the sampler's own noise is seeded with 0, as ComfyUI's Noise_EmptyNoise does. How
many model calls a custom sampler makes depends on its SIGMAS link, so it is unknown when
planning (the steps are the schedule node's cost).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.op import NoParams, Params, op

from ..types import Conditioning, Guider, Latent, Model, Noise, SamplerFn, Sigmas
from .basic import progress
from .params import SEED_MAX, NoiseMode, SamplerName


class Select(Params):
    sampler: SamplerName = "euler"


@op("sampler.select", version=1)
def select(p: Select) -> SamplerFn:
    """A sampling algorithm by name (KSamplerSelect)."""
    return {"name": p.sampler}


class RandomNoise(Params):
    seed: int = Field(0, ge=0, le=SEED_MAX)


@op("noise.random", version=1)
def random(p: RandomNoise) -> Noise:
    """Gaussian initial noise from `seed` (RandomNoise); the sampler's noise uses it too."""
    return {"add": True, "seed": p.seed}


@op("noise.disable", version=1)
def disable(p: NoParams) -> Noise:
    """No initial noise (DisableNoise); stochastic samplers draw their own from seed 0."""
    return {"add": False, "seed": 0}


class CFG(Params):
    cfg: float = Field(8.0, ge=0.0, le=100.0)


@op("guider.cfg", version=1)
def cfg(p: CFG, model: Model, positive: Conditioning, negative: Conditioning) -> Guider:
    """D_u + cfg·(D_c − D_u) over the model (CFGGuider)."""
    return {"model": model, "positive": positive, "negative": negative, "cfg": p.cfg}


@op("guider.basic", version=1)
def basic(p: NoParams, model: Model, conditioning: Conditioning) -> Guider:
    """The conditioned prediction alone, one branch (BasicGuider: cfg 1, no negative)."""
    return {"model": model, "positive": conditioning, "negative": [], "cfg": 1.0}


class DualCFG(Params):
    cfg_conds: float = Field(8.0, ge=0.0, le=100.0, description="cfg1: cond1 against cond2")
    cfg_cond2_negative: float = Field(8.0, ge=0.0, le=100.0,
                                      description="cfg2: cond2 against the negative")
    style: Literal["regular", "nested"] = "regular"


@op("guider.dual_cfg", version=1)
def dual_cfg(p: DualCFG, model: Model, cond1: Conditioning, cond2: Conditioning,
             negative: Conditioning) -> Guider:
    """Two guidance scales (DualCFGGuider): regular n + cfg2·(m − n) + cfg1·(p − m), nested
    n + cfg2·(m + cfg1·(p − m) − n), for the predictions p, m, n of cond1, cond2, negative."""
    return {"kind": "dual_cfg", "model": model, "positive": cond1, "middle": cond2,
            "negative": negative, "cfg1": p.cfg_conds, "cfg2": p.cfg_cond2_negative,
            "style": p.style}


class CustomOut(NamedTuple):
    output: Latent
    denoised_output: Latent


def _run(guider: dict[str, Any], sampler: str, sigmas: Any, latent: Latent, *, seed: int,
         add_noise: bool, noise_mode: str, ctx: OpContext) -> CustomOut:
    from ..kernels.ksampler import run_sigmas

    report = progress(ctx)
    last: list[Any] = []

    def callback(i: int, n: int, x0: Any) -> None:
        last[:] = [x0]
        report(i, n, x0)

    s = [float(v) for v in sigmas]
    out = run_sigmas(guider["model"], latent, guider["positive"], guider["negative"], s,
                     seed=seed, cfg=guider.get("cfg", 1.0), sampler=sampler,
                     add_noise=add_noise, offset=0,
                     full_sigmas=() if noise_mode == "comfy" else s, noise_mode=noise_mode,
                     callback=callback, guider=guider)
    if not last:
        return CustomOut(out, out)
    samples = latent["samples"]
    return CustomOut(out, {**latent, "samples": last[0].to(samples.device, samples.dtype)})


class Custom(Params):
    add_noise: bool = True
    seed: int = Field(0, ge=0, le=SEED_MAX)
    cfg: float = Field(8.0, ge=0.0, le=100.0)
    noise_mode: NoiseMode = Field("graphrt", description=(
        "graphrt: per-step noise keyed by (seed, step); comfy: ComfyUI's noise, one "
        "generator for the call (docs/reproducibility.md)"))


def _unknown_calls(p: Any) -> int | None:
    """Unknown when planning: the calls follow the SIGMAS link's length."""
    return None


@op("sample.custom", version=1, model_calls=_unknown_calls, device=True)
def custom(p: Custom, model: Model, positive: Conditioning, negative: Conditioning,
           sampler: SamplerFn, sigmas: Sigmas, latent: Latent, *, ctx: OpContext) -> CustomOut:
    """One sampler call over `sigmas` with CFG (SamplerCustom)."""
    guider = {"model": model, "positive": positive, "negative": negative, "cfg": p.cfg}
    return _run(guider, sampler["name"], sigmas, latent, seed=p.seed, add_noise=p.add_noise,
                noise_mode=p.noise_mode, ctx=ctx)


class CustomAdvanced(Params):
    noise_mode: NoiseMode = Field("graphrt", description=Custom.model_fields[
        "noise_mode"].description)


@op("sample.custom_advanced", version=1, model_calls=_unknown_calls, device=True)
def custom_advanced(p: CustomAdvanced, noise: Noise, guider: Guider, sampler: SamplerFn,
                    sigmas: Sigmas, latent: Latent, *, ctx: OpContext) -> CustomOut:
    """One sampler call over `sigmas` with a guider and a noise source
    (SamplerCustomAdvanced)."""
    return _run(guider, sampler["name"], sigmas, latent, seed=noise["seed"],
                add_noise=noise["add"], noise_mode=p.noise_mode, ctx=ctx)
