"""sample.* — the step-range sampler, the unsampler, and the SAMPLER bundle.

`sample.steps` has exactly KSampler/KSamplerAdvanced semantics (docs/semantics.md §3–5): steps
[start, end) of sched(steps) (or of the tail of sched(int(steps/denoise))), fresh noise from
the seed when `add_noise`, leftover noise kept or the last sigma forced to 0, CFG on
denoised predictions, the latent's noise_mask honoured. In noise mode "graphrt" (the
default) all randomness comes from private CPU generators keyed by (seed, step index), so
results do not depend on the device and a run split at step k ([0,k) with leftover noise,
then [k,n) without adding noise) equals the unsplit run for every single-step sampler,
ancestral and SDE ones included. Multistep samplers (lms, dpmpp_2m, dpmpp_2m_sde,
dpmpp_3m_sde and ComfyUI's later ones, names.MULTISTEP) restart their history at a range
boundary, as in ComfyUI, so for them a split run differs from one run. In noise mode "comfy"
a node is one ComfyUI sampler call (or, with `call_start`, the tail of one) and draws
ComfyUI's noise (docs/reproducibility.md).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from graphrt.core.context import OpContext
from graphrt.core.hints import Cost
from graphrt.core.op import op

from ..kernels.names import STOCHASTIC, WHOLE_CALL
from ..kernels.steps import model_calls, step_range  # pure Python: no torch
from ..types import Conditioning, Latent, Model, Sampler
from .params import MAX_STEPS, Guidance, Sampling


class Steps(Sampling):
    start: int | None = Field(None, ge=0, le=MAX_STEPS, description="first step (inclusive)")
    end: int | None = Field(None, ge=0, le=MAX_STEPS, description="last step (exclusive)")
    add_noise: bool = True
    leftover_noise: bool = Field(False, description="keep the noise left at `end` "
                                 "(else the last step goes to sigma 0)")
    denoise: float = Field(1.0, ge=0.0, le=1.0)
    call_start: int | None = Field(None, ge=0, le=MAX_STEPS, description=(
        "noise_mode comfy: the first step of the ComfyUI sampler call this node continues "
        "(None: the node is a whole call); ancestral samplers skip start − call_start draws"))

    @model_validator(mode="after")
    def _schedule_exists(self) -> Self:
        self.sigmas()  # raises ValueError: kl_optimal with one step, N' beyond the cap
        return self

    @model_validator(mode="after")
    def _call_start(self) -> Self:
        if self.call_start is None or self.call_start == (self.start or 0):
            return self
        if self.noise_mode != "comfy":
            raise ValueError("call_start applies to noise_mode 'comfy' only")
        if self.call_start > (self.start or 0):
            raise ValueError(f"call_start ({self.call_start}) is after start ({self.start})")
        if self.sampler in WHOLE_CALL:
            raise ValueError(f"{self.sampler!r} cannot continue a call in another node: its "
                             "Brownian tree (sa_solver: its stochastic interval) spans the "
                             "whole call")
        return self

    def sigmas(self) -> list[float]:
        """The sigma list this node samples over ([] = input returned untouched)."""
        return step_range(self.sampler, self.scheduler, self.steps, denoise=self.denoise,
                          start=self.start, end=self.end,
                          force_full_denoise=not self.leftover_noise)


def _steps_calls(p: Steps) -> int | None:
    sigmas = p.sigmas()
    return model_calls(p.sampler, sigmas) if len(sigmas) > 1 else 0


def step_cost(p: Any) -> Cost:
    """The cost of a sampler-like node: its step count."""
    return Cost(steps=p.steps)


def progress(ctx: OpContext) -> Any:
    """A kernel callback (step i of n, x0) that reports progress through the context."""
    return lambda i, n, x0: ctx.progress(i + 1, n, x0)


@op("sample.steps", version=2, model_calls=_steps_calls, cost=step_cost, device=True)
def steps(p: Steps, model: Model, positive: Conditioning, negative: Conditioning,
          latent: Latent, *, ctx: OpContext) -> Latent:
    """Sample steps [start, end) (KSampler / KSamplerAdvanced)."""
    from ..kernels.ksampler import sample_range

    return sample_range(model, latent, positive, negative, seed=p.seed, steps=p.steps,
                        cfg=p.cfg, sampler=p.sampler, scheduler=p.scheduler, start=p.start,
                        end=p.end, add_noise=p.add_noise, leftover_noise=p.leftover_noise,
                        denoise=p.denoise, noise_mode=p.noise_mode, call_start=p.call_start,
                        callback=progress(ctx))


class Unsample(Sampling):
    cfg: float = Field(1.0, ge=0.0, le=100.0)
    end_at_step: int = Field(0, ge=0, le=MAX_STEPS)
    normalize: bool = False

    @model_validator(mode="after")
    def _deterministic(self) -> Self:
        if self.sampler in STOCHASTIC:
            raise ValueError(f"unsampling needs a deterministic sampler; {self.sampler!r} "
                             "draws noise while stepping")
        return self


def _unsample_calls(p: Unsample) -> int | None:
    from ..kernels.unsample import unsample_sigmas

    return model_calls(p.sampler, unsample_sigmas(p.sampler, p.scheduler, p.steps,
                                                  p.end_at_step))


@op("sample.unsample", version=2, model_calls=_unsample_calls, cost=step_cost, device=True)
def unsample(p: Unsample, model: Model, positive: Conditioning, negative: Conditioning,
             latent: Latent, *, ctx: OpContext) -> Latent:
    """Run the sampler backwards from the clean latent to the noise level of `end_at_step`
    (ComfyUI_Noise's Unsampler); resample from it with `add_noise` off and start =
    end_at_step."""
    from ..kernels.unsample import unsample as run

    return run(model, latent, positive, negative, steps=p.steps, end_at_step=p.end_at_step,
               cfg=p.cfg, sampler=p.sampler, scheduler=p.scheduler, normalize=p.normalize,
               seed=p.seed, callback=progress(ctx))


class SamplerBundle(Guidance):
    sigma_factor: float = Field(1.0, ge=0.0, le=10.0)


@op("sample.sampler", version=1)
def sampler(p: SamplerBundle, model: Model, positive: Conditioning,
            negative: Conditioning) -> Sampler:
    """Bundle a model, its conditioning and sampler settings (Impact's KSAMPLER_ADVANCED)."""
    return {"model": model, "positive": positive, "negative": negative, **p.model_dump()}
