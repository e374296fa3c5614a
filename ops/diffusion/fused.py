"""The parallel regional order with one model call per step (`sample.regional_fused`).

In the parallel order (regional.py) every sampler of a step — the base on the inverse mask,
each region on its grown mask — starts from the same latent, so their model evaluations are
independent and can share one `DiffusionModel.denoise` call. Each row runs the very code of an
unrolled `sample.separated` node (`run_separated`) against a stand-in model: a first pass
records the row's single evaluation request, one batched call serves them all, and a second
pass replays each row with its slice of the result. This is exact only for samplers that
evaluate the model once per step and whose noise does not depend on the batch (`FUSABLE`);
Impact's SP samplers are left out (their recovery passes chain two evaluations per step).

The sequential order (Impact's) cannot be batched at all: a region's input is the base's
output of the same step, so its evaluation depends on the base's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..imaging import composite_masked
from .guidance import _lcm_tokens
from .ksampler import Latent
from .model import DiffusionModel
from .separated import run_separated

FUSABLE = frozenset({"euler", "euler_ancestral", "ddim", "dpmpp_2m", "lms", "ddpm", "lcm"})
Bundle = dict[str, Any]  # a SAMPLER value: model, positive, negative, cfg, sampler, …


class _Pending(Exception):
    """Raised by the stand-in model at a row's first evaluation (pass 1)."""


class _StandIn:
    """A DiffusionModel for one row: records its evaluation request, then replays the result."""

    def __init__(self, model: DiffusionModel) -> None:
        self.model = model
        self.request: tuple[Any, ...] | None = None
        self.result: torch.Tensor | None = None
        self.served = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        if self.result is None:
            self.request = (x, sigma, context, y)
            raise _Pending
        if self.served:
            raise RuntimeError("a fused sampler evaluated the model twice in one step")
        self.served = True
        return self.result


def _batched_call(model: DiffusionModel, requests: list[tuple[Any, ...]]) -> list[torch.Tensor]:
    """All rows' requests as ONE model call; returns each row's slice."""
    ys = [r[3] for r in requests]
    if any(y is None for y in ys) and any(y is not None for y in ys):
        raise ValueError("either every conditioning carries 'y' or none does")
    out = model.denoise(
        torch.cat([r[0] for r in requests]),
        torch.cat([r[1] for r in requests]),
        torch.cat(_lcm_tokens([r[2] for r in requests])),
        None if ys[0] is None else torch.cat(ys),
    )
    return list(out.split([r[0].shape[0] for r in requests]))


def run_rows(model: DiffusionModel, rows: list[dict[str, Any]], common: dict[str, Any]
             ) -> list[Latent]:
    """`run_separated` for every row (its keywords: common | row), one model call in all."""
    results: list[Latent | None] = [None] * len(rows)
    pending: list[tuple[int, _StandIn]] = []
    for r, row in enumerate(rows):
        stand_in = _StandIn(model)
        try:
            results[r] = run_separated(stand_in, **common, **row)  # type: ignore[arg-type]
        except _Pending:
            pending.append((r, stand_in))
    if pending:
        chunks = _batched_call(model, [s.request for _, s in pending])  # type: ignore[misc]
        for (r, stand_in), chunk in zip(pending, chunks, strict=True):
            stand_in.result = chunk
            results[r] = run_separated(stand_in, **common, **rows[r])  # type: ignore[arg-type]
    return results  # type: ignore[return-value]


def _row(bundle: Bundle, latent: Latent, mask: torch.Tensor | None) -> dict[str, Any]:
    return {"latent": latent, "positive": bundle["positive"], "negative": bundle["negative"],
            "cfg": bundle["cfg"], "sampler": bundle["sampler"],
            "scheduler": bundle["scheduler"], "scale": bundle["sigma_factor"], "mask": mask}


def check_fusable(base: Bundle, regions: list[Bundle]) -> DiffusionModel:
    """The shared model, or ValueError when the bundles cannot share one call."""
    model = base["model"]
    for b in (base, *regions):
        if b["model"] is not model:
            raise ValueError("regional_fused needs one model for the base and every region")
        if b["sampler"] not in FUSABLE:
            raise ValueError(f"regional_fused supports {sorted(FUSABLE)}; {b['sampler']!r} "
                             "evaluates the model more than once per step or chains passes")
    return model


def fused_regional(
    latent: Latent,
    base: Bundle,
    regions: list[tuple[torch.Tensor, Bundle]],
    inv: torch.Tensor,
    *,
    seed: int,
    steps: int,
    start: int,
    end: int,
    add_noise: bool,
    leftover: bool,
    base_only_steps: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> Latent:
    """The parallel regional loop (regional.py) with one model call per step.

    `regions` holds (grown mask, bundle) pairs; `inv` is the inverse mask.
    """
    model = check_fusable(base, [b for _, b in regions])
    a, e, x = start, min(steps, end), latent
    common = {"seed": seed, "steps": steps}
    first = min(a + base_only_steps, e)
    if first > a:
        x = run_separated(model, **common, **_row(base, x, None), start=a, end=first,
                          add_noise=add_noise, leftover=leftover if first == e else True)
    for i in range(first, e):
        step = {"start": i, "end": i + 1, "add_noise": add_noise and i == a,
                "leftover": leftover if i == e - 1 else True}
        rows = [{**_row(base, x, inv), **step}]
        rows += [{**_row(b, x, m), **step} for m, b in regions]
        outs = run_rows(model, rows, common)
        y = outs[0]
        for (m, _), out in zip(regions, outs[1:], strict=True):
            y = {**y, "samples": composite_masked(y["samples"], out["samples"], 0, 0, m)}
        x = y
        if on_step is not None:
            on_step(i - a + 1, e - a)
    return x
