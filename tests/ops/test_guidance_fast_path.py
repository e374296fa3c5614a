"""The fast paths of guided evaluation and sampling (ops/kernels/conds.py, samplers.py): a
batch whose branches are all one plain entry takes `Batch._single`, which must give the very
bits of the general path, signed zeros included; `run_sampler` keeps the global RNG and the
grad mode without fork_rng; CFG is combined in one buffer, with the plain formula's bits."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from gaussian_net import cond, gaussian_model

from graphrt.ops.kernels.conds import Batch, _tile
from graphrt.ops.kernels.guidance import CFGDenoiser, DualCFGDenoiser, _guide
from graphrt.ops.kernels.samplers import NoiseKit, run_sampler

MODEL = gaussian_model()


class _General(Batch):
    """A Batch that never takes the single-call path."""

    def _layout(self, x: torch.Tensor, sigma: torch.Tensor) -> Any:
        groups, fast, _single = super()._layout(x, sigma)
        return groups, fast, False


class _SignedZeros:
    """A model whose predictions hold −0.0 and +0.0 (as real nets' can), else the Gaussian's."""

    percent_to_sigma = MODEL.percent_to_sigma

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
                y: torch.Tensor | None = None, *, count: bool = True) -> torch.Tensor:
        out = MODEL.denoise(x, sigma, context, y, count=count)
        out[..., 0] = -0.0
        out[..., 1] = 0.0
        return out


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a, b) and torch.equal(a.signbit(), b.signbit())


def _inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(batch)
    return torch.randn(batch, 4, 8, 8, generator=g), torch.tensor([2.0, 0.5, 7.0][:batch])


@pytest.mark.parametrize("model", [MODEL, _SignedZeros()], ids=["gaussian", "signed_zeros"])
@pytest.mark.parametrize("branches", [1, 2, 3])
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("zeros", [True, False])
def test_single_call_gives_the_general_paths_bits(model: Any, branches: int, batch: int,
                                                  zeros: bool) -> None:
    conds = [cond(0.1 * k) for k in range(branches)]
    fast, general = Batch(model, conds), _General(model, conds)
    x, sigma = _inputs(batch)
    assert fast._layout(x, sigma)[2]  # the single-call path is the one under test
    got, want = fast(x, sigma, zeros=zeros), general(x, sigma, zeros=zeros)
    assert len(got) == len(want) == branches
    assert all(_same_bits(a, b) for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("conds", [
    [cond(0.5), cond(0.0) + cond(0.2)],  # two entries in one branch
    [cond(0.5, strength=2.0), cond(0.0)],  # a weight other than 1
    [cond(0.5), cond(0.0, area=(4, 4, 0, 0))],  # a crop
], ids=["two_entries", "strength", "area"])
def test_weighted_branches_take_the_general_path(conds: list[Any]) -> None:
    x, sigma = _inputs(1)
    assert not Batch(MODEL, conds)._layout(x, sigma)[2]


def test_a_skipped_branch_takes_the_general_path() -> None:
    x, sigma = _inputs(1)
    batch = Batch(MODEL, [cond(0.5), cond(0.0)], [True, False])
    assert not batch._layout(x, sigma)[2]
    assert torch.equal(batch(x, sigma)[1], torch.zeros_like(x))


@pytest.mark.parametrize("cfg", [0.5, 1.0, 4.0])
def test_guided_denoisers_call_equals_pair(cfg: float) -> None:
    x, sigma = _inputs(2)
    cfg_fn = CFGDenoiser(_SignedZeros(), cond(0.4), cond(0.1), cfg)
    dual = DualCFGDenoiser(_SignedZeros(), cond(0.4), cond(0.3), cond(0.1), cfg, 2.0)
    for fn in (cfg_fn, dual):
        assert _same_bits(fn(x, sigma), fn.pair(x, sigma)[0])


@pytest.mark.parametrize("shape", [(), (1,), (3,)])
def test_tile_is_repeat(shape: tuple[int, ...]) -> None:
    t = torch.arange(1.0, 1.0 + torch.Size(shape).numel()).reshape(shape)
    tiled = _tile(t, 3)
    assert torch.equal(tiled, t.repeat(3)) and tiled.data_ptr() != t.data_ptr()


def test_run_sampler_restores_rng_and_grad_mode_on_error() -> None:
    calls = []

    def failing(x: torch.Tensor, sigma: torch.Tensor, **_: Any) -> torch.Tensor:
        calls.append(torch.is_grad_enabled())
        if len(calls) == 2:
            raise RuntimeError("stop")
        return x * 0.5

    x, sigmas = torch.ones(1, 4, 8, 8), torch.tensor([3.0, 2.0, 1.0, 0.0])
    torch.manual_seed(5)
    before = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="stop"):
        run_sampler("euler", failing, x, sigmas, noise=NoiseKit(1))  # euler draws randn_like
    assert calls == [False, False] and torch.is_grad_enabled()
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("scale", [0.5, 1.0, 5.0, 7.3])
def test_guide_has_the_bits_of_the_plain_formula(scale: float) -> None:
    g = torch.Generator().manual_seed(0)
    cond, uncond = torch.randn(2, 4, 8, 8, generator=g).chunk(2)
    specials = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), float("nan"), 1e38])
    cond.view(-1)[:6], uncond.view(-1)[:6] = specials, specials.flip(0)
    cond.view(-1)[6:12], uncond.view(-1)[6:12] = specials, specials
    before = cond.clone(), uncond.clone()
    got, want = _guide(cond, uncond, scale), uncond + (cond - uncond) * scale
    assert torch.equal(got.view(torch.int32), want.view(torch.int32))
    assert torch.equal(cond.view(torch.int32), before[0].view(torch.int32))
    assert torch.equal(uncond.view(torch.int32), before[1].view(torch.int32))
