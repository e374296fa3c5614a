"""region.* — REGIONAL_PROMPTS values, and reading SAMPLER/REGIONAL_PROMPTS links at plan time.

A REGIONAL_PROMPTS value is a list of {"mask": MASK, "sampler": SAMPLER} regions (Impact
Pack's RegionalPrompt list). The regional macros unroll one node per region and step, so they
need the regions' masks and sampler settings while planning: `sampler_links` and
`region_links` follow the links back to the `sample.sampler`, `region.prompt` and
`region.combine` nodes that build them (any other producer is a plan-time error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphrt.core.document import Ref
from graphrt.core.expand import Builder, ExpansionError
from graphrt.core.op import NoParams, op

from .sample.basic import SamplerBundle
from .types import Mask, RegionalPrompts, Sampler


@op("region.prompt", version=1)
def prompt(p: NoParams, mask: Mask, sampler: Sampler) -> RegionalPrompts:
    """One region: sample inside `mask` with `sampler` (Impact's RegionalPrompt)."""
    return [{"mask": mask, "sampler": sampler}]


@op("region.combine", version=1)
def combine(p: NoParams, *prompts: RegionalPrompts) -> RegionalPrompts:
    """Concatenate regional prompts, in link order (CombineRegionalPrompts)."""
    return [region for group in prompts for region in group]


@op("region.outside", version=1)
def outside(p: NoParams, *masks: Mask) -> Mask:
    """1 where every mask is 0, else 0: Impact's inv_mask (docs/semantics.md §6.3). Any value > 0
    counts as inside (ceil); all masks must share one shape."""
    import torch

    if not masks:
        raise ValueError("region.outside needs at least one mask")
    shape = masks[0].shape
    if any(m.shape != shape for m in masks):
        shapes = [tuple(m.shape) for m in masks]
        raise ValueError(f"region masks must share one shape, got {shapes}")
    inside = torch.zeros(shape, dtype=torch.bool)
    for m in masks:
        inside |= m.detach().cpu() > 0
    return (~inside).to(masks[0].dtype)


@dataclass(frozen=True)
class SamplerLinks:
    """A SAMPLER bundle resolved at plan time: its links and its settings."""

    model: Ref[Any]
    positive: Ref[Any]
    negative: Ref[Any]
    cfg: float
    sampler: str
    scheduler: str
    sigma_factor: float


def _ref(link: Any) -> Ref[Any]:
    if not isinstance(link, Ref):
        raise ExpansionError(f"{link} is not a node output")
    return link


def sampler_links(g: Builder, ref: Ref[Any]) -> SamplerLinks:
    """The `sample.sampler` node behind a SAMPLER link (or a `pipe.sampler` node, whose
    model and conditioning come through a `pipe.split` added here)."""
    node = g.upstream(ref, "sample.sampler", "pipe.sampler")
    p = node.params
    assert isinstance(p, SamplerBundle)
    if node.op == "pipe.sampler":  # Impact's KSamplerAdvancedProvider
        parts = g.add("pipe.split", {}, basic_pipe=_ref(node.inputs["basic_pipe"]))
        return SamplerLinks(parts.model, parts.positive, parts.negative, p.cfg, p.sampler,
                            p.scheduler, p.sigma_factor)
    return SamplerLinks(_ref(node.inputs["model"]), _ref(node.inputs["positive"]),
                        _ref(node.inputs["negative"]), p.cfg, p.sampler, p.scheduler,
                        p.sigma_factor)


def region_links(g: Builder, ref: Ref[Any]) -> list[tuple[Ref[Any], SamplerLinks]]:
    """(mask link, sampler) per region behind a REGIONAL_PROMPTS link, in order."""
    out: list[tuple[Ref[Any], SamplerLinks]] = []
    todo = [ref]
    while todo:  # depth-first, left to right, without recursion
        node = g.upstream(todo.pop(), "region.prompt", "region.combine")
        if node.op == "region.prompt":
            out.append((_ref(node.inputs["mask"]), sampler_links(g, _ref(node.inputs["sampler"]))))
        else:
            prompts = node.inputs.get("prompts", ())
            todo.extend(reversed([_ref(r) for r in (prompts if isinstance(prompts, tuple)
                                                    else (prompts,))]))
    if not out:
        raise ExpansionError("REGIONAL_PROMPTS holds no region")
    return out
