"""cond.* — combining and masking CONDITIONING entries (never mutating them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graphrt.core.op import NoParams, Params, op

from .types import Conditioning, Mask


@op("cond.combine", version=1)
def combine(p: NoParams, *conditioning: Conditioning) -> Conditioning:
    """Concatenate conditioning lists (ConditioningCombine); entries are averaged by the
    sampler, weighted by their strength and masks."""
    return [entry for cond in conditioning for entry in cond]


class SetMask(Params):
    strength: float = Field(1.0, ge=0.0, le=10.0)
    set_cond_area: Literal["default", "mask bounds"] = "default"


@op("cond.set_mask", version=1)
def set_mask(p: SetMask, conditioning: Conditioning, mask: Mask) -> Conditioning:
    """Restrict every entry to `mask` with a strength (ConditioningSetMask)."""
    m = mask if mask.ndim == 3 else mask.unsqueeze(0)
    out = []
    for context, options in conditioning:
        out.append([context, {**options, "mask": m, "strength": p.strength,
                              "set_area_to_bounds": p.set_cond_area != "default"}])
    return out
