"""pipe.* — Impact Pack's BASIC_PIPE (model, clip, vae, positive, negative) and its provider.

A pipe is a plain 5-tuple in ComfyUI's order. `pipe.make` packs it (ToBasicPipe), `pipe.split`
unpacks it (FromBasicPipe, FromBasicPipe_v2), `pipe.edit` replaces the parts it is given
(EditBasicPipe), and `pipe.sampler` is KSamplerAdvancedProvider: the same SAMPLER bundle as
`sample.sampler`, with the model and conditioning taken from a pipe. All are primitives, so
the regional macros read a `pipe.sampler` node at plan time (`region.sampler_links`) and link
their steps to a `pipe.split` of its pipe.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphrt.core.op import NoParams, op

from .sample.basic import SamplerBundle
from .types import BasicPipe, Clip, Conditioning, Model, Sampler, Vae


class Parts(NamedTuple):
    model: Model
    clip: Clip
    vae: Vae
    positive: Conditioning
    negative: Conditioning
    basic_pipe: BasicPipe  # the pipe itself, passed on (FromBasicPipe_v2's first output)


@op("pipe.make", version=1)
def make(p: NoParams, model: Model, clip: Clip, vae: Vae, positive: Conditioning,
         negative: Conditioning) -> BasicPipe:
    """A BASIC_PIPE from its five parts (ToBasicPipe)."""
    return (model, clip, vae, positive, negative)


@op("pipe.split", version=1)
def split(p: NoParams, basic_pipe: BasicPipe) -> Parts:
    """The five parts of a BASIC_PIPE, and the pipe (FromBasicPipe, FromBasicPipe_v2)."""
    model, clip, vae, positive, negative = basic_pipe
    return Parts(model, clip, vae, positive, negative, tuple(basic_pipe))


@op("pipe.edit", version=1)
def edit(p: NoParams, basic_pipe: BasicPipe, model: Model | None = None,
         clip: Clip | None = None, vae: Vae | None = None,
         positive: Conditioning | None = None,
         negative: Conditioning | None = None) -> BasicPipe:
    """The pipe with each part that is linked replaced (EditBasicPipe)."""
    given = (model, clip, vae, positive, negative)
    return tuple(old if new is None else new for old, new in zip(basic_pipe, given, strict=True))


@op("pipe.sampler", version=1)
def sampler(p: SamplerBundle, basic_pipe: BasicPipe) -> Sampler:
    """The SAMPLER bundle of the pipe's model and conditioning (KSamplerAdvancedProvider);
    equal to `sample.sampler` on the same parts."""
    model, _clip, _vae, positive, negative = basic_pipe
    out: dict[str, Any] = {"model": model, "positive": positive, "negative": negative,
                           **p.model_dump()}
    return out
