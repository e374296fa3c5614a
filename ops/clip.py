"""text.clip_skip — encode from an earlier CLIP layer (ComfyUI's CLIPSetLastLayer).

stop_at_clip_layer = −1 is the last layer, −2 the penultimate, … For real models the result is
a new CLIP sharing the input's encoders (never mutated) whose prompts encode from that hidden
state on every text encoder (SDXL: both), as ComfyUI's `set_clip_options({"layer": k})`: on
SD 1.x the state is layer-normed; on SDXL it is not, so −2 equals the default and −1 changes
it; |k| beyond an encoder's depth takes its normed last state; the pooled vector is unchanged
(`models/real/text.py`). The toy text encoder is a single layer (one-hot word rows), so every
stop reads it: a toy CLIP passes through unchanged, and workflows that skip layers still run
on the toy models.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from graphrt.core.op import Params, op

from .types import Clip


class ClipSkip(Params):
    stop_at_clip_layer: int = Field(-1, ge=-24, le=-1,
                                    description="−1 = last layer, −2 = penultimate, …")


@op("text.clip_skip", version=1)
def clip_skip(p: ClipSkip, clip: Clip) -> Clip:
    """A CLIP encoding from layer stop_at_clip_layer (CLIPSetLastLayer)."""
    with_layer: Any = getattr(clip, "with_layer", None)
    if with_layer is not None:
        return with_layer(p.stop_at_clip_layer)
    return clip  # the toy encoder's only layer is its last
