"""Areas, masks, strengths and timestep ranges of conditioning entries as the samplers honour
them (ops/kernels/conds.py, ComfyUI's calc_cond_batch), the DualCFG guider, and the cond.* ops
that set them. The Gaussian test net denoises every pixel on its own, so a prediction on a crop
is the crop of the full prediction and the expected arrays are written out by hand here.
"""

from __future__ import annotations

from typing import Any

import torch
from gaussian_net import cond, gaussian_model

from graphrt.core.meter import measure
from graphrt.ops import cond as C
from graphrt.ops.kernels.conds import Batch, resolve, resolve_branches, weight
from graphrt.ops.kernels.guidance import CFGDenoiser, DualCFGDenoiser

MODEL = gaussian_model()
X = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(3))
SIG = torch.tensor([2.0])


def d(value: float, x: torch.Tensor = X) -> torch.Tensor:
    """The net's prediction for a constant context `value`."""
    return MODEL.denoise(x, SIG.repeat(x.shape[0]), torch.full((x.shape[0], 3, 8), value))


def entry(value: float, **opts: Any) -> list[Any]:
    return cond(value, **opts)[0]


def test_an_area_without_mask_is_feathered_at_its_inner_edges() -> None:
    """(8, 8, 4, 4) in a 16×16 latent: rr = min(8, 8 // 4) = 2 rows/columns ramp 1/2, 1 at every
    edge inside the latent; an edge on the latent's border does not ramp."""
    ramp = torch.tensor([0.5, 1, 1, 1, 1, 1, 1, 0.5])
    inner = resolve(entry(1.0, area=(8, 8, 4, 4), strength=2.0), 16, 16, MODEL, X.device)
    w = weight(inner, X.shape, X.device)
    assert w.shape == (1, 4, 8, 8)
    torch.testing.assert_close(w[0, 0], 2.0 * ramp[:, None] * ramp[None, :])
    corner = resolve(entry(1.0, area=(8, 8, 0, 0)), 16, 16, MODEL, X.device)
    edge = torch.tensor([1, 1, 1, 1, 1, 1, 1, 0.5])
    torch.testing.assert_close(weight(corner, X.shape, X.device)[0, 0],
                               edge[:, None] * edge[None, :])


def test_area_predictions_are_pasted_back_and_averaged() -> None:
    seen: list[tuple[int, ...]] = []
    inner = MODEL.denoise

    def spy(x: torch.Tensor, *a: Any, **kw: Any) -> torch.Tensor:
        seen.append(tuple(x.shape))
        return inner(x, *a, **kw)

    model = gaussian_model()
    model.denoise = spy  # type: ignore[method-assign]
    area = (8, 8, 4, 4)
    with measure() as m:
        got = Batch(model, [[entry(0.0), entry(1.0, area=area, strength=2.0)]])(X, SIG)[0]
    assert seen == [(1, 4, 16, 16), (1, 4, 8, 8)]  # one call per crop shape
    assert m["model_calls"] == 1  # counted as one evaluation
    ramp = torch.tensor([0.5, 1, 1, 1, 1, 1, 1, 0.5])
    w = torch.zeros(16, 16)
    w[4:12, 4:12] = 2.0 * ramp[:, None] * ramp[None, :]
    torch.testing.assert_close(got, (d(0.0) + d(1.0) * w) / (1 + w + 1e-37))


def test_percentage_areas_resolve_against_the_latent() -> None:
    e = resolve(entry(0.0, area=("percentage", 0.5, 0.25, 0.5, 0.75)), 16, 16, MODEL, X.device)
    assert e.area == (8, 4, 8, 12)
    tiny = resolve(entry(0.0, area=("percentage", 0.01, 0.01, 0.0, 0.0)), 16, 16, MODEL,
                   X.device)
    assert tiny.area == (1, 1, 0, 0)  # at least one latent pixel


def test_mask_bounds_become_the_area_and_masks_are_not_feathered() -> None:
    mask = torch.zeros(16, 16)
    mask[2:5, 3:13] = 1.0
    e = resolve(entry(0.0, mask=mask, set_area_to_bounds=True, mask_strength=0.5,
                      strength=3.0), 16, 16, MODEL, X.device)
    assert e.area == (8, 10, 2, 3)  # 3 × 10 box, height raised to 8
    w = weight(e, X.shape, X.device)
    torch.testing.assert_close(w[0, 0], 1.5 * mask[2:10, 3:13])
    empty = resolve(entry(0.0, mask=torch.zeros(16, 16), set_area_to_bounds=True), 16, 16,
                    MODEL, X.device)
    assert empty.area == (8, 8, 0, 0)


def test_an_area_entry_gets_a_same_area_twin_in_the_other_branch() -> None:
    """create_cond_with_same_area_if_none: the twin takes the context of the other branch's
    smallest entry containing the area, and none is made where that area already exists."""
    area = (4, 4, 4, 4)
    pos = [entry(0.5, area=area, strength=2.0)]
    neg = [entry(0.0), entry(0.1, area=(8, 8, 2, 2)), entry(0.2, area=(12, 12, 0, 0))]
    p, n = resolve_branches([pos, neg], 16, 16, MODEL, X.device)
    assert len(p) == 1  # no positive entry contains the negative's larger areas
    assert len(n) == 4
    twin = n[-1]
    assert twin.area == area and twin.strength == 2.0
    assert twin.context is neg[1][0]  # the smallest containing area's context
    again = resolve_branches([pos, [entry(0.0, area=area)]], 16, 16, MODEL, X.device)
    assert len(again[1]) == 1 and len(again[0]) == 1


def test_timestep_ranges_gate_entries_by_sigma() -> None:
    lo = MODEL.percent_to_sigma(0.5)
    from graphrt.ops.kernels.table import t_to_sigma

    assert abs(lo - t_to_sigma(499.5)) < 1e-5 * lo
    assert MODEL.percent_to_sigma(0.0) > 1e8 and MODEL.percent_to_sigma(1.0) == 0.0
    early = [entry(0.0, start_percent=0.0, end_percent=0.5), entry(1.0, start_percent=0.5,
                                                                   end_percent=1.0)]
    batch = Batch(MODEL, [early])
    high, low = torch.tensor([lo * 1.01]), torch.tensor([lo * 0.99])
    torch.testing.assert_close(batch(X, high)[0], MODEL.denoise(X, high, torch.zeros(1, 3, 8)))
    torch.testing.assert_close(batch(X, low)[0], MODEL.denoise(X, low, torch.ones(1, 3, 8)))
    with measure() as m:
        none = Batch(MODEL, [[entry(0.0, start_percent=0.9)]])(X, high)[0]
    assert torch.equal(none, torch.zeros_like(X)) and m["model_calls"] == 1


def test_cfg_at_one_skips_the_uncond_but_keeps_its_twins() -> None:
    """At cfg 1 the negative is not evaluated, yet its area entries still twin into the
    positive (ComfyUI prepares the conditionings before it skips the branch)."""
    seen: list[tuple[int, ...]] = []
    model = gaussian_model()
    inner = model.denoise
    model.denoise = lambda x, *a, **kw: seen.append(tuple(x.shape)) or inner(x, *a, **kw)  # type: ignore[method-assign]
    pos = [entry(0.5)]
    neg = [entry(0.0, area=(8, 8, 8, 8))]
    got = CFGDenoiser(model, pos, neg, 1.0)(X, SIG)
    assert seen == [(1, 4, 16, 16), (1, 4, 8, 8)]  # the positive and its twin, no negative
    w = torch.zeros(16, 16)
    ramp = torch.tensor([0.5, 1, 1, 1, 1, 1, 1, 1])  # the area touches the bottom-right edges
    w[8:, 8:] = ramp[:, None] * ramp[None, :]
    torch.testing.assert_close(got, (d(0.5) + d(0.5) * w) / (1 + w + 1e-37))


def test_dual_cfg_regular_and_nested() -> None:
    p, m, n = d(1.0), d(0.5), d(0.0)
    c1, c2, neg = [entry(1.0)], [entry(0.5)], [entry(0.0)]
    regular = DualCFGDenoiser(MODEL, c1, c2, neg, 3.0, 2.0)(X, SIG)
    torch.testing.assert_close(regular, n + (m - n) * 2.0 + (p - m) * 3.0)
    nested = DualCFGDenoiser(MODEL, c1, c2, neg, 3.0, 2.0, "nested")(X, SIG)
    torch.testing.assert_close(nested, n + 2.0 * (m + (p - m) * 3.0 - n))
    # cfg2 = 1 skips the negative (0), and cfg1 = 1 as well skips the middle
    torch.testing.assert_close(DualCFGDenoiser(MODEL, c1, c2, neg, 3.0, 1.0)(X, SIG),
                               m + (p - m) * 3.0)
    torch.testing.assert_close(DualCFGDenoiser(MODEL, c1, c2, neg, 1.0, 1.0)(X, SIG), p)
    _, uncond = DualCFGDenoiser(MODEL, c1, c2, neg, 3.0, 2.0, "nested").pair(X, SIG)
    torch.testing.assert_close(uncond, m)  # CFG++ sees the inner guidance's uncond


def test_cond_ops_set_comfyui_options() -> None:
    base = [entry(0.0)]
    area = C.set_area(C.SetArea(width=640, height=64, x=8, y=72, strength=0.5), base)
    assert area[0][1] == {"area": (8, 80, 9, 1), "strength": 0.5, "set_area_to_bounds": False}
    pct = C.set_area_percentage(C.SetAreaPercentage(width=0.5, height=0.25, x=0.1, y=0.2),
                                base)
    assert pct[0][1]["area"] == ("percentage", 0.25, 0.5, 0.2, 0.1)
    assert C.set_area_strength(C.SetStrength(strength=2.0), area)[0][1]["strength"] == 2.0
    timed = C.set_timestep_range(C.TimestepRange(start=0.2, end=0.6), base)
    assert (timed[0][1]["start_percent"], timed[0][1]["end_percent"]) == (0.2, 0.6)
    assert base[0][1] == {}  # never mutated
