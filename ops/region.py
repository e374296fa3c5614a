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

from graphrt import NoParams, op
from graphrt.graph import Ref
from graphrt.types import Mask, RegionalPrompts, Sampler


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
    """1 where every mask is 0, else 0: Impact's inv_mask (SEMANTICS §6.3). Any value > 0
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

    model: Ref
    positive: Ref
    negative: Ref
    cfg: float
    sampler: str
    scheduler: str
    sigma_factor: float


def _node(builder: Any, ref: Ref, wanted: tuple[str, ...], what: str) -> Any:
    node = builder.graph.nodes.get(ref.node)
    name = node.spec.name if node is not None else "nothing"
    if node is None or name not in wanted:
        raise ValueError(f"{what} must be linked from {' or '.join(wanted)} (found {name} at "
                         f"{ref}); the macro reads its settings while planning")
    return node


def sampler_links(builder: Any, ref: Ref) -> SamplerLinks:
    """The `sample.sampler` node behind a SAMPLER link."""
    node = _node(builder, ref, ("sample.sampler",), "a SAMPLER input")
    p = node.params
    return SamplerLinks(node.inputs["model"], node.inputs["positive"], node.inputs["negative"],
                        p.cfg, p.sampler, p.scheduler, p.sigma_factor)


def region_links(builder: Any, ref: Ref) -> list[tuple[Ref, SamplerLinks]]:
    """(mask link, sampler) per region behind a REGIONAL_PROMPTS link, in order."""
    out: list[tuple[Ref, SamplerLinks]] = []
    todo = [ref]
    while todo:  # depth-first, left to right, without recursion
        node = _node(builder, todo.pop(), ("region.prompt", "region.combine"),
                     "a REGIONAL_PROMPTS input")
        if node.spec.name == "region.prompt":
            out.append((node.inputs["mask"], sampler_links(builder, node.inputs["sampler"])))
        else:
            todo.extend(reversed(node.inputs.get("prompts", ())))
    if not out:
        raise ValueError("REGIONAL_PROMPTS holds no region")
    return out
