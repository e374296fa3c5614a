"""The parallel regional order with one model call per step (`sample.regional_fused`).

In the parallel order (regional.py) every sampler of a step — the base on the inverse mask,
each region on its grown mask — starts from the same latent, so their model evaluations are
independent and can share one `DiffusionModel.denoise` call. Each row runs the very code of an
unrolled `sample.separated` node (`run_separated`), in a thread of its own, against a stand-in
model whose evaluation waits until every row has asked; one batched call serves them all.
This is exact only for samplers that evaluate the model once per step and whose noise does
not depend on the batch (`FUSABLE`);
Impact's SP samplers are left out (their recovery passes chain two evaluations per step).

The sequential order (Impact's) cannot be batched at all: a region's input is the base's
output of the same step, so its evaluation depends on the base's.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

import torch

from .conds import lcm_tokens
from .imaging import composite_masked
from .ksampler import Latent
from .model import DiffusionModel
from .separated import run_separated

FUSABLE = frozenset({"euler", "euler_ancestral", "ddim", "dpmpp_2m", "lms", "ddpm", "lcm"})
Bundle = dict[str, Any]  # a SAMPLER value: model, positive, negative, cfg, sampler, …


class _Batch:
    """Collects one evaluation request per live row, serves them with ONE model call.

    Every row runs its sampler in its own thread against a `_RowModel`; a row's request
    blocks until every row still running has asked (or finished), then the last one to
    arrive makes the batched call and wakes the others."""

    def __init__(self, model: DiffusionModel, rows: int) -> None:
        self.model, self.live = model, rows
        self.requests: dict[int, tuple[Any, ...]] = {}
        self.results: dict[int, torch.Tensor] = {}
        self.error: BaseException | None = None
        self.cond = threading.Condition()

    def ask(self, row: int, request: tuple[Any, ...]) -> torch.Tensor:
        with self.cond:
            if row in self.results or row in self.requests:
                raise RuntimeError("a fused sampler evaluated the model twice in one step")
            self.requests[row] = request
            self._maybe_serve()
            self.cond.wait_for(lambda: row in self.results or self.error is not None)
            if self.error is not None:
                raise RuntimeError("the batched model call failed") from self.error
            return self.results[row]

    def done(self) -> None:
        with self.cond:
            self.live -= 1
            self._maybe_serve()

    def _maybe_serve(self) -> None:
        if not self.requests or len(self.requests) + len(self.results) < self.live:
            return
        rows = sorted(self.requests)
        try:
            chunks = _batched_call(self.model, [self.requests[r] for r in rows])
            self.results.update(zip(rows, chunks, strict=True))
        except BaseException as exc:  # re-raised in every waiting row
            self.error = exc
        self.requests.clear()
        self.cond.notify_all()


class _RowModel:
    """A DiffusionModel for one row whose single evaluation goes through the batch."""

    def __init__(self, model: DiffusionModel, batch: _Batch, row: int) -> None:
        self.model, self.batch, self.row = model, batch, row

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
                y: torch.Tensor | None = None, *, count: bool = True) -> torch.Tensor:
        """The row's evaluation, served by the batch's one counted call (`count` is moot)."""
        return self.batch.ask(self.row, (x, sigma, context, y))


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


def run_rows(model: DiffusionModel, rows: list[dict[str, Any]], common: dict[str, Any]
             ) -> list[Latent]:
    """`run_separated` for every row (its keywords: common | row), one model call in all."""
    batch = _Batch(model, len(rows))
    results: list[Any] = [None] * len(rows)

    def work(r: int) -> None:
        try:
            results[r] = run_separated(_RowModel(model, batch, r),  # type: ignore[arg-type]
                                       **common, **rows[r])
        except BaseException as exc:
            results[r] = exc
        finally:
            batch.done()

    # each thread runs in a copy of this context, so model calls reach this node's meter
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(work, r))
               for r in range(1, len(rows))]
    for t in threads:
        t.start()
    work(0)
    for t in threads:
        t.join()
    for out in results:
        if isinstance(out, BaseException):
            raise out
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
        outs = run_rows(model, rows, common)
        y = outs[0]
        for (m, _), out in zip(regions, outs[1:], strict=True):
            y = {**y, "samples": composite_masked(y["samples"], out["samples"], 0, 0, m)}
        x = y
        if on_step is not None:
            on_step(i - a + 1, e - a)
    return x
