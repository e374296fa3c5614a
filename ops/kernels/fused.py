"""The parallel regional order with one model call per step (`sample.regional_fused`).

In the parallel order (regional.py) every sampler of a step — the base on the inverse mask,
each region on its grown mask — starts from the same latent, so their model evaluations are
independent and can share one `DiffusionModel.denoise` call. Each row runs the very code of an
unrolled `sample.separated` node (`run_separated`), on one thread: every row but the last
probes, i.e. builds its sampler's input and evaluates its denoiser at (x, σ₀), the first
evaluation of every `FUSABLE` sampler, which records the request and stops; the last row's
evaluation is ONE batched call serving all of them (its own request last, as row order has
it); the other rows then run their samplers (a row is a pure function of its inputs) and are
handed their slices, each checked to answer the very request recorded. No threads, so no
handoffs. Each row's guided denoiser is built once per loop, not per step. This is exact only
for samplers that evaluate the model once per step and whose noise does not depend on the
batch (`FUSABLE`); Impact's SP samplers are left out (their recovery passes chain two
evaluations per step).

The sequential order (Impact's) cannot be batched at all: a region's input is the base's
output of the same step, so its evaluation depends on the base's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, cast

import torch

from .conds import lcm_tokens
from .imaging import composite_masked
from .ksampler import Latent, guided_denoiser
from .model import DiffusionModel
from .separated import run_separated

FUSABLE = frozenset({"euler", "euler_ancestral", "ddim", "dpmpp_2m", "lms", "ddpm", "lcm"})
Bundle = dict[str, Any]  # a SAMPLER value: model, positive, negative, cfg, sampler, …


class _Recorded(BaseException):
    """Stops a row's first pass at its model evaluation (BaseException: no handler on the
    way may take it for a failure)."""


class _RowModel:
    """A DiffusionModel for one row. A recording row's probe records its evaluation and
    stops; its run is handed its slice. The serving row (the last) makes the batched call
    itself, its own request last, so it runs once."""

    def __init__(self, model: DiffusionModel, serve: list[_RowModel] | None = None) -> None:
        self.model, self.serve = model, serve
        self.request: tuple[Any, ...] | None = None
        self.result: torch.Tensor | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
                y: torch.Tensor | None = None, *, count: bool = True) -> torch.Tensor:
        """The row's evaluation, served by the batch's one counted call (`count` is moot)."""
        if self.result is not None:
            out, self.result = self.result, None
            if self.request is None or not all(map(_same, self.request, (x, sigma, context, y))):
                raise RuntimeError("a fused row's second pass asked for another evaluation")
            return out
        if self.request is not None:
            raise RuntimeError("a fused sampler evaluated the model twice in one step")
        self.request = (x, sigma, context, y)
        if self.serve is None:
            raise _Recorded
        rows = [m for m in self.serve if m.request is not None]
        chunks = _batched_call(self.model, _requests([*rows, self]))
        for m, chunk in zip(rows, chunks[:-1], strict=True):
            m.result = chunk
        return chunks[-1]


_BITS = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    """a and b hold the same bits (NaNs included)."""
    if a is b:
        return True
    if a is None or b is None or a.shape != b.shape or a.dtype != b.dtype:
        return False
    bits = _BITS.get(a.element_size()) if a.is_floating_point() else None
    return torch.equal(a, b) if bits is None else torch.equal(a.view(bits), b.view(bits))


def _requests(rows: list[_RowModel]) -> list[tuple[Any, ...]]:
    return [m.request for m in rows if m.request is not None]


def _batched_call(model: DiffusionModel, requests: list[tuple[Any, ...]]) -> list[torch.Tensor]:
    """All rows' requests as ONE model call; returns each row's slice."""
    ys = [r[3] for r in requests]
    if any(y is None for y in ys) and any(y is not None for y in ys):
        raise ValueError("either every conditioning carries 'y' or none does")
    out = model.denoise(
        torch.cat([r[0] for r in requests]),
        torch.cat([r[1] for r in requests]),
        torch.cat(lcm_tokens([r[2] for r in requests])),
        None if ys[0] is None else torch.cat(ys),
    )
    return list(torch.split(out, [r[0].shape[0] for r in requests]))


def stand_ins(model: DiffusionModel, n: int) -> list[_RowModel]:
    """The stand-in models of n rows: n − 1 recording ones, then the serving one."""
    recording = [_RowModel(model) for _ in range(n - 1)]
    return [*recording, _RowModel(model, serve=recording)]


def run_rows(model: DiffusionModel, rows: list[dict[str, Any]], common: dict[str, Any],
             models: list[_RowModel] | None = None, guided: list[Any] | None = None
             ) -> list[Latent]:
    """`run_separated` for every row (its keywords: common | row), one model call in all:
    the rows before the last probe (record their requests), the last row's evaluation serves
    them all, then they run with their slices. `models` (`stand_ins`) and `guided` (each
    row's denoiser over its stand-in) may be kept from step to step: built once per loop."""
    models = models if models is not None else stand_ins(model, len(rows))
    for m in models:
        m.request = m.result = None
    denoisers = guided if guided is not None else [None] * len(rows)
    *recording, last = models
    results: list[Any] = [None] * len(rows)
    for r, stand_in in enumerate(recording):
        kw: dict[str, Any] = {**common, **rows[r], "guided": denoisers[r]}
        with contextlib.suppress(_Recorded):  # the probe records the request and stops
            run_separated(stand_in, **kw, probe=True)  # type: ignore[arg-type]
            results[r] = run_separated(stand_in, **kw)  # type: ignore[arg-type] # no request
    results[-1] = run_separated(last, **common, **rows[-1],  # type: ignore[arg-type]
                                guided=denoisers[-1])
    waiting = [r for r, m in enumerate(recording) if m.request is not None]
    if waiting and last.request is None:  # the last row had nothing to sample
        chunks = _batched_call(model, _requests([recording[r] for r in waiting]))
        for r, chunk in zip(waiting, chunks, strict=True):
            recording[r].result = chunk
    for r in waiting:
        results[r] = run_separated(recording[r], **common, **rows[r],  # type: ignore[arg-type]
                                   guided=denoisers[r])
    return results


def _row(bundle: Bundle, latent: Latent, mask: torch.Tensor | None) -> dict[str, Any]:
    return {"latent": latent, "positive": bundle["positive"], "negative": bundle["negative"],
            "cfg": bundle["cfg"], "sampler": bundle["sampler"],
            "scheduler": bundle["scheduler"], "scale": bundle["sigma_factor"], "mask": mask}


def check_fusable(base: Bundle, regions: list[Bundle]) -> DiffusionModel:
    """The shared model, or ValueError when the bundles cannot share one call."""
    model: DiffusionModel = base["model"]
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
    noise_mode: str = "graphrt",
    on_step: Callable[[int, int], None] | None = None,
) -> Latent:
    """The parallel regional loop (regional.py) with one model call per step.

    `regions` holds (grown mask, bundle) pairs; `inv` is the inverse mask.
    """
    model = check_fusable(base, [b for _, b in regions])
    bundles = [base, *(b for _, b in regions)]
    models = stand_ins(model, len(bundles))  # each row's denoiser built once, not per step
    guided = [guided_denoiser(cast(DiffusionModel, m), b["positive"], b["negative"], b["cfg"],
                              b["sampler"]) for m, b in zip(models, bundles, strict=True)]
    a, e, x = start, min(steps, end), latent
    common: dict[str, Any] = {"seed": seed, "steps": steps, "noise_mode": noise_mode}
    first = min(a + base_only_steps, e)
    if first > a:
        x = run_separated(model, **common, **_row(base, x, None), start=a, end=first,
                          add_noise=add_noise, leftover=leftover if first == e else True)
    for i in range(first, e):
        step = {"start": i, "end": i + 1, "add_noise": add_noise and i == a,
                "leftover": leftover if i == e - 1 else True}
        rows = [{**_row(base, x, inv), **step}]
        rows += [{**_row(b, x, m), **step} for m, b in regions]
        outs = run_rows(model, rows, common, models, guided)
        y = outs[0]
        for (m, _), out in zip(regions, outs[1:], strict=True):
            y = {**y, "samples": composite_masked(y["samples"], out["samples"], 0, 0, m)}
        x = y
        if on_step is not None:
            on_step(i - a + 1, e - a)
    return x
