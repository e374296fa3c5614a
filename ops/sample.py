"""sample.* — the step-range sampler, the unsampler, and the SAMPLER bundle.

`sample.steps` has exactly KSampler/KSamplerAdvanced semantics (SEMANTICS §3–5): steps
[start, end) of sched(steps) (or of the tail of sched(int(steps/denoise))), fresh noise from
the seed when `add_noise`, leftover noise kept or the last sigma forced to 0, CFG on
denoised predictions, the latent's noise_mask honoured. All randomness comes from private
CPU generators keyed by (seed, step index), so results do not depend on the device and a
run split at step k ([0,k) with leftover noise, then [k,n) without adding noise) equals the
unsplit run for every single-step sampler, ancestral and SDE ones included. Multistep
samplers (lms, dpmpp_2m, dpmpp_2m_sde, dpmpp_3m_sde) restart their history at a range
boundary, as in ComfyUI, so for them a split run differs from one run.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from graphrt import Params, op
from graphrt.types import Conditioning, Latent, Model, Sampler

from .diffusion.names import SAMPLERS, STOCHASTIC
from .diffusion.schedules import SCHEDULERS

SamplerName = Literal[SAMPLERS]  # type: ignore[valid-type]
SchedulerName = Literal[SCHEDULERS]  # type: ignore[valid-type]
MAX_STEPS = 10_000
SEED_MAX = 2**64 - 1


class Sampling(Params):
    """Seed, schedule and guidance: the params every step-range sampler shares."""

    seed: int = Field(0, ge=0, le=SEED_MAX)
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    cfg: float = Field(8.0, ge=0.0, le=100.0)
    sampler: SamplerName = "euler"
    scheduler: SchedulerName = "normal"


class Steps(Sampling):
    start: int | None = Field(None, ge=0, le=MAX_STEPS, description="first step (inclusive)")
    end: int | None = Field(None, ge=0, le=MAX_STEPS, description="last step (exclusive)")
    add_noise: bool = True
    leftover_noise: bool = Field(False, description="keep the noise left at `end` "
                                 "(else the last step goes to sigma 0)")
    denoise: float = Field(1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _schedule_exists(self) -> Self:
        self.sigmas()  # raises ValueError: kl_optimal with one step, N' beyond the cap
        return self

    def sigmas(self) -> list[float]:
        """The sigma list this node samples over ([] = input returned untouched)."""
        from .diffusion.steps import step_range

        return step_range(self.sampler, self.scheduler, self.steps, denoise=self.denoise,
                          start=self.start, end=self.end,
                          force_full_denoise=not self.leftover_noise)


def _steps_calls(p: Steps) -> int | None:
    from .diffusion.steps import model_calls

    sigmas = p.sigmas()
    return model_calls(p.sampler, sigmas) if len(sigmas) > 1 else 0


@op("sample.steps", version=1, model_calls=_steps_calls)
def steps(p: Steps, model: Model, positive: Conditioning, negative: Conditioning,
          latent: Latent, *, ctx: Any = None) -> Latent:
    """Sample steps [start, end) (KSampler / KSamplerAdvanced)."""
    from .diffusion.ksampler import sample_range

    with _Counting(model, ctx) as cb:
        return sample_range(model, _on(latent, ctx), positive, negative, seed=p.seed,
                            steps=p.steps, cfg=p.cfg, sampler=p.sampler,
                            scheduler=p.scheduler, start=p.start, end=p.end,
                            add_noise=p.add_noise, leftover_noise=p.leftover_noise,
                            denoise=p.denoise, callback=cb)


class Unsample(Params):
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    end_at_step: int = Field(0, ge=0, le=MAX_STEPS)
    cfg: float = Field(1.0, ge=0.0, le=100.0)
    sampler: SamplerName = "euler"
    scheduler: SchedulerName = "normal"
    normalize: bool = False
    seed: int = Field(0, ge=0, le=SEED_MAX)

    @model_validator(mode="after")
    def _deterministic(self) -> Self:
        if self.sampler in STOCHASTIC:
            raise ValueError(f"unsampling needs a deterministic sampler; {self.sampler!r} "
                             "draws noise while stepping")
        return self


def _unsample_calls(p: Unsample) -> int | None:
    from .diffusion.steps import model_calls
    from .diffusion.unsample import unsample_sigmas

    return model_calls(p.sampler, unsample_sigmas(p.sampler, p.scheduler, p.steps,
                                                  p.end_at_step))


@op("sample.unsample", version=1, model_calls=_unsample_calls)
def unsample(p: Unsample, model: Model, positive: Conditioning, negative: Conditioning,
             latent: Latent, *, ctx: Any = None) -> Latent:
    """Run the sampler backwards from the clean latent to the noise level of `end_at_step`
    (ComfyUI_Noise's Unsampler); resample from it with `add_noise` off and start =
    end_at_step."""
    from .diffusion.unsample import unsample as run

    with _Counting(model, ctx) as cb:
        return run(model, _on(latent, ctx), positive, negative, steps=p.steps,
                   end_at_step=p.end_at_step, cfg=p.cfg, sampler=p.sampler,
                   scheduler=p.scheduler, normalize=p.normalize, seed=p.seed, callback=cb)


class SamplerBundle(Params):
    cfg: float = Field(8.0, ge=0.0, le=100.0)
    sampler: SamplerName = "euler"
    scheduler: SchedulerName = "normal"
    sigma_factor: float = Field(1.0, ge=0.0, le=10.0)


@op("sample.sampler", version=1)
def sampler(p: SamplerBundle, model: Model, positive: Conditioning,
            negative: Conditioning) -> Sampler:
    """Bundle a model, its conditioning and sampler settings (Impact's KSAMPLER_ADVANCED)."""
    return {"model": model, "positive": positive, "negative": negative, **p.model_dump()}


def _on(latent: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The latent with its samples on the run's device."""
    if ctx is None:
        return latent
    device = ctx.device
    samples = latent["samples"]
    return latent if str(samples.device) == device else {**latent, "samples": samples.to(device)}


class _Counting:
    """Moves the model to the run's device, reports progress, counts model calls."""

    def __init__(self, model: Any, ctx: Any) -> None:
        self.model, self.ctx = model, ctx

    def __enter__(self) -> Any:
        self.start = self.model.calls
        if self.ctx is None:
            return None
        self.model.to(self.ctx.device)
        return lambda i, n, x0: self.ctx.progress(i + 1, n, x0)

    def __exit__(self, *exc: object) -> None:
        if self.ctx is not None:
            self.ctx.count_model_calls(self.model.calls - self.start)
