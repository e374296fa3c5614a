"""sample.separated — Impact Pack's sampling primitive — and the plan-time expansion of its
KSamplerAdvancedWrapper.sample_advanced (docs/semantics.md §7) into primitive nodes.

`sample.separated` is one `separated_sample` call (§7.1, see diffusion/separated.py for how it
differs from `sample.steps`). `advanced_step` adds the nodes of one `sample_advanced` call
(§7.2) to a macro's graph: a single `sample.separated`, or, for the SP samplers with a
recovery mode on, pass 1 at ρ₁·φ, the composite "keep new values inside the call's noise
mask, restore outside" (`latent.composite_masked`) and the recovery pass at r·φ. Errors are
raised, never swallowed (§15 #9), so Impact's pass-through on a foreign ValueError is gone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graphrt.core.context import OpContext
from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.op import op

from ..kernels.steps import model_calls  # pure Python: no torch
from ..region import SamplerLinks
from ..types import Conditioning, Latent, Mask, Model
from .basic import progress, step_cost
from .params import MAX_STEPS, Sampling

# Impact's special samplers: a recovery mode applies only to these (§7.2).
SP = frozenset({"uni_pc", "uni_pc_bh2", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m_sde",
                "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu"})
Mode = Literal["DISABLE", "ratio additional", "ratio between"]
RecoverySampler = Literal["AUTO", "euler", "heun", "heunpp2", "dpm_2", "dpm_fast", "dpmpp_2m",
                          "ddpm"]


class Separated(Sampling):
    start: int = Field(0, ge=0, le=MAX_STEPS, description="first step (inclusive)")
    end: int = Field(MAX_STEPS, ge=0, le=MAX_STEPS, description="last step (exclusive)")
    add_noise: bool = True
    leftover_noise: bool = Field(True, description="return the solver state at `end` (else "
                                 "the last sigma is 0 and the last x0 is returned)")
    sigma_scale: float = Field(1.0, ge=0.0, le=10.0, description="ρ: sigma_factor × ratio")

    def sigmas(self) -> list[float]:
        from ..kernels.separated import separated_sigmas

        return separated_sigmas(self.sampler, self.scheduler, self.steps, self.start,
                                self.end, self.leftover_noise, self.sigma_scale)[0]


def _separated_calls(p: Separated) -> int | None:
    return model_calls(p.sampler, p.sigmas())


@op("sample.separated", version=2, model_calls=_separated_calls, cost=step_cost, device=True)
def separated(p: Separated, model: Model, positive: Conditioning, negative: Conditioning,
              latent: Latent, mask: Mask | None = None, *, ctx: OpContext) -> Latent:
    """Impact's separated_sample over steps [start, end) of the full schedule (§7.1); `mask`
    is this call's noise mask (the result then carries none)."""
    from ..kernels.separated import run_separated

    return run_separated(model, latent, positive, negative, seed=p.seed, steps=p.steps,
                         cfg=p.cfg, sampler=p.sampler, scheduler=p.scheduler, start=p.start,
                         end=p.end, add_noise=p.add_noise, leftover=p.leftover_noise,
                         scale=p.sigma_scale, mask=mask, noise_mode=p.noise_mode,
                         callback=progress(ctx))


def recovery_sampler(sampler: str, choice: str) -> str:
    """§7.2 AUTO: dpm_fast after uni_pc(_bh2) and dpmpp_sde(_gpu), dpmpp_2m otherwise."""
    if choice != "AUTO":
        return choice
    return "dpm_fast" if sampler in ("uni_pc", "uni_pc_bh2", "dpmpp_sde", "dpmpp_sde_gpu") \
        else "dpmpp_2m"


def advanced_step(
    g: Builder,
    bundle: SamplerLinks,
    latent: Ref[Latent],
    mask: Ref[Mask] | None,
    *,
    id: str,
    seed: int,
    steps: int,
    start: int,
    end: int,
    add_noise: bool,
    leftover: bool,
    mode: str = "DISABLE",
    recovery: str = "AUTO",
    ratio: float = 0.0,
    noise_mode: str = "graphrt",
) -> Ref[Latent]:
    """Add the nodes of one sample_advanced call (§7.2); returns the resulting latent. Each
    `sample.separated` node is one ComfyUI sampler call (its own generator in comfy mode)."""
    base = {"seed": seed, "steps": steps, "cfg": bundle.cfg, "scheduler": bundle.scheduler,
            "start": start, "end": end, "add_noise": add_noise, "leftover_noise": leftover,
            "noise_mode": noise_mode}
    conds = {"model": bundle.model, "positive": bundle.positive, "negative": bundle.negative}
    phi = bundle.sigma_factor
    if mode == "DISABLE" or bundle.sampler not in SP:
        return g.add("sample.separated", {**base, "sampler": bundle.sampler, "sigma_scale": phi},
                     id=id, latent=latent, mask=mask, **conds).out
    rho1 = 1.0 - ratio if mode == "ratio between" else 1.0
    out = latent
    if rho1 > 0:
        out = g.add("sample.separated", {**base, "sampler": bundle.sampler,
                                         "sigma_scale": rho1 * phi},
                    id=id, latent=latent, mask=mask, **conds).out
    if ratio > 0:
        mixed = g.add("latent.composite_masked", {}, id=f"{id}.keep", destination=latent,
                      source=out, mask=mask).out
        out = g.add("sample.separated", {**base, "sigma_scale": ratio * phi,
                                         "sampler": recovery_sampler(bundle.sampler, recovery)},
                    id=f"{id}.recover", latent=mixed, mask=mask, **conds).out
    return out
