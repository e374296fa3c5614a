"""sample.regional_fused gives the unrolled parallel graph's bits, for every fusable sampler.

The fused loop probes its recording rows (one denoiser evaluation at (x, σ₀), no sampler run)
and reuses each row's guided denoiser and resized masks from step to step
(ops/kernels/fused.py); none of that may change a bit, in either noise mode.
"""

from __future__ import annotations

import pytest
import torch

from graphrt import Runtime
from graphrt.ops.kernels.fused import FUSABLE, _same
from tests.seeds import toy_graphs as tg


@pytest.mark.parametrize("mode", ["graphrt", "comfy"])
@pytest.mark.parametrize("sampler", sorted(FUSABLE))
def test_fused_is_bit_identical_to_the_unrolled_graph(sampler: str, mode: str) -> None:
    params = {"steps": 4, "overlap_factor": 4, "seed": 3, "noise_mode": mode}
    rt = Runtime(device="cpu")
    fused = rt.run(tg.regional_graph(params, sampler, op="sample.regional_fused"))
    unrolled = rt.run(tg.regional_graph({**params, "order": "parallel"}, sampler))
    a, b = fused.outputs["out"]["samples"], unrolled.outputs["out"]["samples"]
    assert torch.equal(a.view(torch.int32), b.view(torch.int32))
    assert fused.stats["model_calls"] == 4


def test_same_compares_bits() -> None:
    x = torch.tensor([0.0, float("nan"), 1.0])
    assert _same(x, x.clone()) and _same(None, None)
    assert not _same(x, torch.tensor([-0.0, float("nan"), 1.0]))
    assert not _same(x, None) and not _same(x, x[:2])
