"""Conditioning entries as ComfyUI's samplers read them (docs/semantics.md §1.5, §16).

An entry is `[context [1,T,D], options]`. The options honoured here:
- "strength" (default 1), "mask" ([H,W] or [M,H,W], resized bilinearly to the latent, not
  rounded) and "mask_strength": the entry's weight is mask·mask_strength·strength;
- "area": (h, w, y, x) in latent pixels, or ("percentage", h, w, y, x) as fractions of the
  latent (rounded, h and w at least 1): the model sees only that crop, and its prediction
  is added back there; without a mask the weight ramps up linearly over min(8, size // 4)
  rows or columns at every edge of the area that lies inside the latent;
- "set_area_to_bounds" with a mask: the area is the mask's bounding box, at least 8×8
  ((8, 8, 0, 0) for an empty mask);
- "start_percent" / "end_percent": the entry counts only while σ ≤ σ(start) and σ ≥ σ(end),
  with σ(·) the model's percent_to_sigma;
- "y": the ADM vector passed to the model.

Per branch the prediction is Σ D_i·w_i / (Σ w_i + 1e-37), pixel by pixel, over the entries
active at σ (0 where none is). Entries whose crops have one shape share one network call.
Before sampling, every entry with an area gets a twin in each other branch unless that
branch has an entry of exactly that area containing it: the entry itself with the context and
y of the branch's smallest entry containing the area (an entry without an area contains every
area), as ComfyUI's create_cond_with_same_area_if_none does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from graphrt.core import meter

from .float32 import f32
from .model import DiffusionModel

Area = tuple[int, int, int, int]  # h, w, y, x in latent pixels
Cond = Sequence[Sequence[Any]]  # [[context, {…}], …]
FUZZ = 8


def to_batch(t: torch.Tensor, batch: int) -> torch.Tensor:
    """Tile or truncate dim 0 to `batch` (ComfyUI repeat_to_batch_size)."""
    if t.shape[0] > batch:
        return t[:batch]
    if t.shape[0] < batch:
        return t.repeat(math.ceil(batch / t.shape[0]), *([1] * (t.ndim - 1)))[:batch]
    return t


def lcm_tokens(contexts: list[torch.Tensor]) -> list[torch.Tensor]:
    """Repeat token rows to a common length (attention over k identical copies is unchanged)."""
    lengths = {c.shape[1] for c in contexts}
    if len(lengths) == 1:
        return contexts
    n = math.lcm(*lengths)
    return [c.repeat(1, n // c.shape[1], 1) for c in contexts]


@dataclass(frozen=True)
class Entry:
    """One conditioning entry, resolved for a latent size."""

    context: torch.Tensor
    y: torch.Tensor | None = None
    strength: float = 1.0
    area: Area | None = None
    mask: torch.Tensor | None = None  # [M,H,W] at the latent's size
    mask_strength: float = 1.0
    sigma_start: float | None = None
    sigma_end: float | None = None

    def active(self, sigma: float) -> bool:
        return not ((self.sigma_start is not None and sigma > self.sigma_start)
                    or (self.sigma_end is not None and sigma < self.sigma_end))

    def crop(self, height: int, width: int) -> Area:
        """(h, w, y, x) of the crop the model sees, clipped to the latent."""
        if self.area is None:
            return height, width, 0, 0
        h, w, y, x = self.area
        h, w = min(height - y, h), min(width - x, w)
        if h <= 0 or w <= 0:
            raise ValueError(f"conditioning area {self.area} lies outside the "
                             f"{height}×{width} latent")
        return h, w, y, x


def _bounds(mask: torch.Tensor) -> Area:
    """The mask's bounding box as an area, at least 8×8 ((8, 8, 0, 0) when empty)."""
    bounds = mask.abs().amax(dim=0)
    ys, xs = torch.where(bounds != 0)
    if ys.numel() == 0:
        return 8, 8, 0, 0
    y0, x0 = int(ys.min()), int(xs.min())
    return max(8, int(ys.max()) - y0 + 1), max(8, int(xs.max()) - x0 + 1), y0, x0


def resolve(entry: Sequence[Any], height: int, width: int, model: DiffusionModel,
            device: torch.device) -> Entry:
    """An entry's options, resolved for a height × width latent on `device`."""
    context, opts = entry[0], entry[1]
    area = opts.get("area")
    if area is not None and area[0] == "percentage":
        area = (max(1, round(area[1] * height)), max(1, round(area[2] * width)),
                round(area[3] * height), round(area[4] * width))
    mask = opts.get("mask")
    if mask is not None:
        mask = mask.to(device=device, dtype=torch.float32)
        mask = mask.unsqueeze(0) if mask.ndim == 2 else mask.reshape(-1, *mask.shape[-2:])
        if tuple(mask.shape[1:]) != (height, width):
            mask = F.interpolate(mask.unsqueeze(1), size=(height, width), mode="bilinear",
                                 align_corners=False).squeeze(1)
        if opts.get("set_area_to_bounds", False):
            area = _bounds(mask)
    start, end = opts.get("start_percent"), opts.get("end_percent")
    return Entry(
        context=context, y=opts.get("y"), strength=float(opts.get("strength", 1.0)),
        area=None if area is None else tuple(int(v) for v in area),  # type: ignore[arg-type]
        mask=mask, mask_strength=float(opts.get("mask_strength", 1.0)),
        sigma_start=None if start is None else f32(model.percent_to_sigma(float(start))),
        sigma_end=None if end is None else f32(model.percent_to_sigma(float(end))))


def _inside(a: Area, b: Area) -> bool:
    return (a[2] >= b[2] and a[3] >= b[3] and a[0] + a[2] <= b[0] + b[2]
            and a[1] + a[3] <= b[1] + b[3])


def _twin(target: list[Entry], c: Entry) -> None:
    """create_cond_with_same_area_if_none: `c` with the context of `target`'s smallest
    entry containing its area, unless that entry has exactly c's area."""
    if c.area is None:
        return
    smallest: Entry | None = None
    for e in target:
        if e.area is None:
            smallest = e if smallest is None else smallest
        elif _inside(c.area, e.area) and (smallest is None or smallest.area is None or
                                          smallest.area[0] * smallest.area[1]
                                          > e.area[0] * e.area[1]):
            smallest = e
    if smallest is None or smallest.area == c.area:
        return
    target.append(replace(c, context=smallest.context, y=smallest.y))


def resolve_branches(branches: Sequence[Cond], height: int, width: int,
                     model: DiffusionModel, device: torch.device) -> list[list[Entry]]:
    """Every branch's entries resolved, with the same-area twins added (branch order as
    ComfyUI's guiders list them: positive, then middle, then negative)."""
    out = [[resolve(e, height, width, model, device) for e in b] for b in branches]
    for k, branch in enumerate(out):
        i = 0
        while i < len(branch):  # twins added to this branch by earlier ones are visited too
            for kk, other in enumerate(out):
                if kk != k:
                    _twin(other, branch[i])
            i += 1
    return out


def weight(e: Entry, shape: Sequence[int], device: torch.device) -> torch.Tensor:
    """The entry's weight over its crop, [B,C,h,w] (float32)."""
    b, c, height, width = shape
    h, w, y, x = e.crop(height, width)
    if e.mask is not None:
        m = e.mask[:, y:y + h, x:x + w].to(device) * e.mask_strength
        mult = to_batch(m.unsqueeze(1), b).repeat(1, c, 1, 1) * e.strength
    else:
        mult = torch.full((b, c, h, w), e.strength, device=device)
    if e.mask is None and e.area is not None:
        for dim, (offset, size, full) in ((2, (y, h, height)), (3, (x, w, width))):
            rr = min(FUZZ, size // 4)
            for t in range(rr):
                ramp = (1.0 / rr) * (t + 1)
                if offset != 0:
                    mult.narrow(dim, t, 1).mul_(ramp)
                if offset + size < full:
                    mult.narrow(dim, size - 1 - t, 1).mul_(ramp)
    return mult


@dataclass(frozen=True)
class _Group:
    """Active entries sharing a crop shape: one network call. `items` are (branch, crop,
    weight); `whole`: every item's branch is `fast`."""

    items: list[tuple[int, Area, torch.Tensor | None]]
    context: torch.Tensor
    y: torch.Tensor | None
    whole: bool


_Layout = tuple[list[_Group], list[bool], bool]  # groups, fast branches, single call


class Batch:
    """calc_cond_batch: each branch's weighted prediction at (x, σ), one network call per
    crop shape, counted as one model call per evaluation. Every branch takes part in the
    same-area twins; only those marked in `evaluate` are predicted (the others are 0, as
    ComfyUI's skipped uncond at cfg 1).

    The grouping, stacked contexts and weights are built once per latent shape and set of
    active entries. A branch whose one active entry covers the latent at weight 1 (`fast`)
    skips the weighted sum: (0 + D·1)/(1e-37 + 1) is D + 0 bit for bit."""

    def __init__(self, model: DiffusionModel, branches: Sequence[Cond],
                 evaluate: Sequence[bool] | None = None) -> None:
        self.model, self.branches = model, list(branches)
        self.evaluate = list(evaluate) if evaluate is not None else [True] * len(branches)
        self._shape: Any = None
        self._entries: list[tuple[int, Entry, Area]] = []
        self._weights: dict[int, torch.Tensor] = {}  # by entry index, built when first used
        self._ranged = False
        self._layouts: dict[Any, _Layout] = {}

    def _prepare(self, x: torch.Tensor) -> None:
        key = (x.shape, x.device, x.dtype)
        if self._shape == key:
            return
        h, w = x.shape[-2:]
        resolved = resolve_branches(self.branches, h, w, self.model, x.device)
        self._entries = [(k, e, e.crop(h, w))
                         for k, (branch, use) in enumerate(zip(resolved, self.evaluate,
                                                               strict=True))
                         if use for e in branch]
        self._ranged = any(e.sigma_start is not None or e.sigma_end is not None
                           for _k, e, _c in self._entries)
        self._shape, self._layouts, self._weights = key, {}, {}

    def _weight(self, i: int, x: torch.Tensor) -> torch.Tensor:
        w = self._weights.get(i)
        if w is None:
            w = self._weights[i] = weight(self._entries[i][1], x.shape, x.device).to(x.dtype)
        return w

    def _layout(self, x: torch.Tensor, sigma: torch.Tensor) -> _Layout:
        """The groups of the entries active at σ, which branches are `fast`, and whether all
        are (`single`: one network call, its chunks the branches' predictions)."""
        self._prepare(x)
        active: tuple[bool, ...] | None = None
        if self._ranged:
            level = float(sigma.reshape(-1)[0])
            active = tuple(e.active(level) for _k, e, _c in self._entries)
        hit = self._layouts.get(active)
        if hit is not None:
            return hit
        by_crop: dict[tuple[int, int], list[tuple[int, int, Entry, Area]]] = {}
        counts = [0] * len(self.branches)
        unit = [False] * len(self.branches)
        for i, (k, e, crop) in enumerate(self._entries):
            if active is None or active[i]:
                by_crop.setdefault(crop[:2], []).append((i, k, e, crop))
                counts[k] += 1
                unit[k] = e.area is None and e.mask is None and e.strength == 1.0
        fast = [c == 1 and u for c, u in zip(counts, unit, strict=True)]
        groups = []
        for items in by_crop.values():  # a fast branch's weight (1 everywhere) is not used
            context, y = _stack([e for _i, _k, e, _c in items], x)
            groups.append(_Group([(k, c, None if fast[k] else self._weight(i, x))
                                  for i, k, _e, c in items], context, y,
                                 all(fast[k] for _i, k, *_ in items)))
        layout = self._layouts[active] = (groups, fast, bool(groups) and all(fast))
        return layout

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, *, zeros: bool = True
                 ) -> list[torch.Tensor]:
        """One prediction per branch ([B,C,H,W]); a branch given as None is 0. A fast
        branch gets +0.0 added, turning −0 into +0 as the weighted sum does; `zeros=False`
        skips that copy, for callers whose results cannot tell −0 from +0."""
        groups, fast, single = self._layout(x, sigma)
        if single:
            return self._single(groups[0], x, sigma, zeros)
        out: list[Any] = [None if f else torch.zeros_like(x) for f in fast]
        count: list[Any] = [None if f else torch.full_like(x, 1e-37) for f in fast]
        if not groups:  # every entry is outside its timestep range: no network call
            meter.count("model_calls")
        full = (x.shape[-2], x.shape[-1], 0, 0)
        for n, g in enumerate(groups):
            crops = [x if c == full else x[:, :, c[2]:c[2] + c[0], c[3]:c[3] + c[1]]
                     for _k, c, _w in g.items]
            xs = x if len(crops) == 1 and crops[0] is x else torch.cat(crops)
            extra = {} if n == 0 else {"count": False}  # later crop shapes: the same evaluation
            pred = self.model.denoise(xs, _tile(sigma, len(g.items)), g.context, g.y, **extra)
            chunks = (pred + 0.0 if g.whole and zeros else pred).chunk(len(g.items))
            for chunk, (k, (ch, cw, cy, cx), w) in zip(chunks, g.items, strict=True):
                if fast[k]:
                    out[k] = chunk if g.whole or not zeros else chunk + 0.0
                    continue
                assert w is not None
                out[k][:, :, cy:cy + ch, cx:cx + cw] += chunk * w
                count[k][:, :, cy:cy + ch, cx:cx + cw] += w
        return [o if c is None else o / c for o, c in zip(out, count, strict=True)]

    def _single(self, g: _Group, x: torch.Tensor, sigma: torch.Tensor, zeros: bool
                ) -> list[torch.Tensor]:
        """`__call__` when every branch is `fast` (one group over the whole latent, items
        in branch order): the same call and chunks without the per-branch bookkeeping."""
        n = len(g.items)
        pred = self.model.denoise(x if n == 1 else torch.cat((x,) * n), _tile(sigma, n),
                                  g.context, g.y)
        return list((pred + 0.0 if zeros else pred).chunk(n))


def _tile(t: torch.Tensor, n: int) -> torch.Tensor:
    """`t.repeat(n)`, a new tensor; by cat for a 1-D `t` (several times cheaper)."""
    return torch.cat((t,) * n) if t.ndim == 1 else t.repeat(n)


def _stack(entries: list[Entry], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The context and y of one group's entries, stacked for x's batch."""
    b = x.shape[0]
    ys = [e.y for e in entries]
    if any(y is None for y in ys) and any(y is not None for y in ys):
        raise ValueError("either every conditioning entry carries 'y' or none does")
    ctx = lcm_tokens([e.context.to(x.device, x.dtype) for e in entries])
    context = torch.cat([to_batch(c, b) for c in ctx])
    y = None if ys[0] is None else torch.cat(
        [to_batch(v.to(x.device, x.dtype), b) for v in ys])  # type: ignore[union-attr]
    return context, y
