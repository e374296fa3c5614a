"""sample.regional_fused — the regional sampler with one model call per step.

It runs `sample.regional` with `order: "parallel"` (restore_latent on, not legacy) inside one
op, batching the base and every region evaluation of a step into ONE `DiffusionModel.denoise`
call; the result equals the unrolled graph within float tolerance (tests/seeds). Exact only
where batching is: one model shared by all bundles, and samplers that evaluate the model once
per step (euler, euler_ancestral, ddim, dpmpp_2m, lms, ddpm, lcm; anything else is an error).
Those are outside Impact's SP set, so recovery modes never apply and are not params here.
Impact's own (sequential) order cannot be fused: see diffusion/fused.py.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Self

from pydantic import model_validator

from graphrt import op
from graphrt.types import Latent, RegionalPrompts, Sampler
from graphrt.values import content_digest

from .regional import RegionalSteps
from .sample import _Counting, _on


class Fused(RegionalSteps):
    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > self.last:
            raise ValueError(f"start ({self.start}) is past min(steps, end)")
        return self


def _fused_calls(p: Fused) -> int:
    return max(p.last - p.start, 0)  # one call per step (FUSABLE samplers)


@op("sample.regional_fused", version=1, model_calls=_fused_calls)
def regional_fused(p: Fused, latent: Latent, base_sampler: Sampler,
                   regional_prompts: RegionalPrompts, *, ctx: Any = None) -> Latent:
    """`sample.regional` (parallel order) with base and region evaluations of a step batched
    into one model call (SEMANTICS §8 masks and steps; see the module docstring)."""
    from .diffusion.fused import check_fusable, fused_regional
    from .region import outside

    bundles = [r["sampler"] for r in regional_prompts]
    model = check_fusable(base_sampler, bundles)
    masks = [r["mask"] for r in regional_prompts]
    inv = outside.op_spec.fn(outside.op_spec.params(), *masks)
    grown = [_grown(m, p.overlap_factor) for m in masks]
    with _Counting(model, ctx) as cb:
        on_step = None if cb is None else (lambda i, n: cb(i - 1, n, None))
        return fused_regional(_on(latent, ctx), base_sampler, list(zip(grown, bundles,
                                                                         strict=True)),
                              inv, seed=p.seed, steps=p.steps, start=p.start, end=p.end,
                              add_noise=p.add_noise, leftover=p.leftover_noise,
                              base_only_steps=p.base_only_steps, on_step=on_step)


_GROWN: OrderedDict[tuple[str, int], Any] = OrderedDict()


def _grown(mask: Any, factor: int) -> Any:
    """Impact's grown region mask, memoised by content and factor (Impact caches it per
    factor too): reruns with new seeds or steps skip the dilation, as the unrolled graph's
    cached mask.grow nodes do. Pure: equal inputs give equal, never-mutated outputs."""
    from .imaging import grow_mask_impact

    key = (content_digest(mask), factor)
    if key not in _GROWN:
        _GROWN[key] = grow_mask_impact(mask, factor, int(mask.shape[-1]), int(mask.shape[-2]))
        while len(_GROWN) > 32:
            _GROWN.popitem(last=False)
    _GROWN.move_to_end(key)
    return _GROWN[key]
