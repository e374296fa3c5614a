"""cond.* — combining, masking and placing CONDITIONING entries (never mutating them).

The options these ops set are read by the samplers as ComfyUI's do (ops/kernels/conds.py,
docs/semantics.md §16): "area", "strength", "mask" with "mask_strength" and
"set_area_to_bounds", "start_percent" / "end_percent".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from graphrt.core.op import NoParams, Params, op

from .latent_edit import MAX_RESOLUTION
from .types import Conditioning, Mask


@op("cond.combine", version=1)
def combine(p: NoParams, *conditioning: Conditioning) -> Conditioning:
    """Concatenate conditioning lists (ConditioningCombine); entries are averaged by the
    sampler, weighted by their strength and masks."""
    return [entry for cond in conditioning for entry in cond]


class SetMask(Params):
    strength: float = Field(1.0, ge=0.0, le=10.0)
    set_cond_area: Literal["default", "mask bounds"] = "default"


def _with(conditioning: Conditioning, **values: Any) -> Conditioning:
    """Every entry with `values` set in a copy of its options (conditioning_set_values)."""
    return [[context, {**options, **values}] for context, options in conditioning]


@op("cond.set_mask", version=2)
def set_mask(p: SetMask, conditioning: Conditioning, mask: Mask) -> Conditioning:
    """Restrict every entry to `mask`, weighted by `strength` (ConditioningSetMask); with
    "mask bounds" the model sees only the mask's bounding box."""
    m = mask if mask.ndim == 3 else mask.unsqueeze(0)
    return _with(conditioning, mask=m, set_area_to_bounds=p.set_cond_area != "default",
                 mask_strength=p.strength)


class SetArea(Params):
    width: int = Field(64, ge=64, le=MAX_RESOLUTION)
    height: int = Field(64, ge=64, le=MAX_RESOLUTION)
    x: int = Field(0, ge=0, le=MAX_RESOLUTION)
    y: int = Field(0, ge=0, le=MAX_RESOLUTION)
    strength: float = Field(1.0, ge=0.0, le=10.0)


@op("cond.set_area", version=1)
def set_area(p: SetArea, conditioning: Conditioning) -> Conditioning:
    """Confine every entry to a pixel rectangle, in latent pixels (÷ 8, rounded down) and
    feathered at its inner edges by the samplers (ConditioningSetArea)."""
    area = (p.height // 8, p.width // 8, p.y // 8, p.x // 8)
    return _with(conditioning, area=area, strength=p.strength, set_area_to_bounds=False)


class SetAreaPercentage(Params):
    width: float = Field(1.0, ge=0.0, le=1.0)
    height: float = Field(1.0, ge=0.0, le=1.0)
    x: float = Field(0.0, ge=0.0, le=1.0)
    y: float = Field(0.0, ge=0.0, le=1.0)
    strength: float = Field(1.0, ge=0.0, le=10.0)


@op("cond.set_area_percentage", version=1)
def set_area_percentage(p: SetAreaPercentage, conditioning: Conditioning) -> Conditioning:
    """Confine every entry to a rectangle given as fractions of the latent, resolved when
    sampling (ConditioningSetAreaPercentage)."""
    area = ("percentage", p.height, p.width, p.y, p.x)
    return _with(conditioning, area=area, strength=p.strength, set_area_to_bounds=False)


class SetStrength(Params):
    strength: float = Field(1.0, ge=0.0, le=10.0)


@op("cond.set_area_strength", version=1)
def set_area_strength(p: SetStrength, conditioning: Conditioning) -> Conditioning:
    """Set every entry's weight (ConditioningSetAreaStrength)."""
    return _with(conditioning, strength=p.strength)


class TimestepRange(Params):
    start: float = Field(0.0, ge=0.0, le=1.0, description="fraction of the run it starts at")
    end: float = Field(1.0, ge=0.0, le=1.0, description="fraction of the run it ends at")


@op("cond.set_timestep_range", version=1)
def set_timestep_range(p: TimestepRange, conditioning: Conditioning) -> Conditioning:
    """Let every entry count only between two fractions of the sampling run, as σ of the
    model's schedule (ConditioningSetTimestepRange)."""
    return _with(conditioning, start_percent=p.start, end_percent=p.end)


def _with_pooled(options: dict[str, Any], pooled: Any) -> dict[str, Any]:
    """`options` with a new pooled_output; an SDXL ADM vector y = [pooled, size embeddings]
    gets the new pooled part too (ComfyUI builds y from pooled_output when it samples)."""
    out = {**options, "pooled_output": pooled}
    y = options.get("y")
    if y is not None and pooled is not None:
        import torch

        out["y"] = torch.cat([pooled.to(y.device, y.dtype), y[..., pooled.shape[-1]:]], dim=-1)
    return out


@op("cond.zero_out", version=1)
def zero_out(p: NoParams, conditioning: Conditioning) -> Conditioning:
    """Zeros in place of every context and pooled output (ConditioningZeroOut)."""
    import torch

    out = []
    for context, options in conditioning:
        pooled = options.get("pooled_output")
        opts = dict(options) if pooled is None else _with_pooled(options,
                                                                 torch.zeros_like(pooled))
        out.append([torch.zeros_like(context), opts])
    return out


class Average(Params):
    conditioning_to_strength: float = Field(1.0, ge=0.0, le=1.0)


@op("cond.average", version=1)
def average(p: Average, conditioning_to: Conditioning,
            conditioning_from: Conditioning) -> Conditioning:
    """Each `to` entry's context · s + the first `from` context · (1 − s), the `from` tokens
    cut or zero-padded to the `to` length; pooled outputs mix the same way (a `to` entry
    without one takes `from`'s) (ConditioningAverage). Only the first `from` entry counts."""
    import torch

    s = p.conditioning_to_strength
    cond_from = conditioning_from[0][0]
    pooled_from = conditioning_from[0][1].get("pooled_output")
    out = []
    for context, options in conditioning_to:
        pooled_to = options.get("pooled_output", pooled_from)
        t0 = cond_from[:, : context.shape[1]].to(context.device)
        if t0.shape[1] < context.shape[1]:
            pad = torch.zeros(1, context.shape[1] - t0.shape[1], context.shape[2],
                              device=t0.device)
            t0 = torch.cat([t0, pad], dim=1)
        opts = dict(options)
        if pooled_from is not None and pooled_to is not None:
            opts = _with_pooled(options, pooled_to * s + pooled_from.to(pooled_to.device)
                                * (1.0 - s))
        elif pooled_from is not None:
            opts = _with_pooled(options, pooled_from)
        out.append([context * s + t0 * (1.0 - s), opts])
    return out


@op("cond.concat", version=1)
def concat(p: NoParams, conditioning_to: Conditioning,
           conditioning_from: Conditioning) -> Conditioning:
    """Each `to` entry's context followed by the first `from` entry's tokens; options are
    `to`'s (ConditioningConcat)."""
    import torch

    cond_from = conditioning_from[0][0]
    return [[torch.cat((context, cond_from.to(context.device)), 1), dict(options)]
            for context, options in conditioning_to]
