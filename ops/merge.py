"""model.merge_* — merging two models' weights (ComfyUI's ModelMerge* and CLIPMergeSimple).

As ComfyUI's weight patches, with w1 from the first input and w2 from the second, per
parameter, computed in float32 and stored in w1's dtype:
  merge_simple:     w1·ratio + w2·(1 − ratio)       (ModelMergeSimple, UNet)
  merge_add:        w1·1 + 1·w2                     (ModelMergeAdd)
  merge_subtract:   w1·multiplier + (−multiplier)·w2 (ModelMergeSubtract)
  merge_clip_simple: as merge_simple, over the text encoders' parameters (CLIPMergeSimple)
The result is a new value built like a LoRA's (ops/models/lora/patch.py): buffers and the
wrapper's settings are model1's, and neither input is mutated. A ratio of 1 returns model1
itself. The two inputs must have the same architecture (an error names the first differing
parameter; ComfyUI skips mismatched weights with a warning). Toy models have no weights:
merging two of them returns the first.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from graphrt.core.op import NoParams, Params, op

from .types import Clip, Model


def _merged(a: Any, b: Any, w1: float, w2: float, what: str) -> dict[str, Any]:
    """New tensors w1·A + w2·B for every parameter of module `a` (same names in `b`)."""
    theirs = dict(b.named_parameters())
    out = {}
    for name, mine in a.named_parameters():
        other = theirs.get(name)
        if other is None or other.shape != mine.shape:
            found = "nothing" if other is None else f"shape {tuple(other.shape)}"
            raise ValueError(f"cannot merge: {what} parameter {name!r} {tuple(mine.shape)} "
                             f"has {found} in the second model (architectures differ)")
        value = mine.float() * w1 + w2 * other.to(mine.device).float()
        out[name] = value.to(mine.dtype)
    return out


def merge_models(model1: Any, model2: Any, w1: float, w2: float) -> Any:
    from .models.lora.patch import replace_params, unet_of, with_unet

    unet1, unet2 = unet_of(model1), unet_of(model2)
    if unet1 is None and unet2 is None:
        return model1  # toy models: no weights to merge
    if unet1 is None or unet2 is None:
        raise ValueError("cannot merge a toy model with a real one (architectures differ)")
    return with_unet(model1, replace_params(unet1, _merged(unet1, unet2, w1, w2, "UNet")))


class MergeSimple(Params):
    ratio: float = Field(1.0, ge=0.0, le=1.0, description="weight of model1")


class MergeSubtract(Params):
    multiplier: float = Field(1.0, ge=-10.0, le=10.0)


@op("model.merge_simple", version=1, device=True)
def merge_simple(p: MergeSimple, model1: Model, model2: Model) -> Model:
    """model1·ratio + model2·(1 − ratio), weight by weight (ModelMergeSimple)."""
    if p.ratio == 1.0:
        return model1
    return merge_models(model1, model2, p.ratio, 1.0 - p.ratio)


@op("model.merge_add", version=1, device=True)
def merge_add(p: NoParams, model1: Model, model2: Model) -> Model:
    """model1 + model2, weight by weight (ModelMergeAdd)."""
    return merge_models(model1, model2, 1.0, 1.0)


@op("model.merge_subtract", version=1, device=True)
def merge_subtract(p: MergeSubtract, model1: Model, model2: Model) -> Model:
    """(model1 − model2)·multiplier, weight by weight (ModelMergeSubtract)."""
    return merge_models(model1, model2, p.multiplier, -p.multiplier)


@op("model.merge_clip_simple", version=1, device=True)
def merge_clip_simple(p: MergeSimple, clip1: Clip, clip2: Clip) -> Clip:
    """clip1·ratio + clip2·(1 − ratio) over the text encoders' weights (CLIPMergeSimple)."""
    if p.ratio == 1.0:
        return clip1
    from .models.lora.patch import WHAT, encoders_of, replace_params, with_encoders

    mine, theirs = encoders_of(clip1), encoders_of(clip2)
    if not mine and not theirs:
        return clip1
    if set(mine) != set(theirs):
        raise ValueError(f"cannot merge text encoders {sorted(mine)} with {sorted(theirs)} "
                         f"(architectures differ)")
    return with_encoders(clip1, {
        k: replace_params(m, _merged(m, theirs[k], p.ratio, 1.0 - p.ratio, WHAT[k]))
        for k, m in mine.items()})
