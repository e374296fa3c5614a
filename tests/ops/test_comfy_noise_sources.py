"""ComfyUI's noise sources (ops/kernels/comfy_noise.py) and the params that select them."""

from __future__ import annotations

import pytest
import torch
import torchsde
from pydantic import ValidationError

from graphrt.ops.kernels.comfy_noise import ComfyAncestral, ComfyBrownian, comfy_tree
from graphrt.ops.sample.basic import Steps

X = torch.zeros(2, 4, 8, 8)


def test_ancestral_is_one_cpu_generator_seeded_seed_plus_one() -> None:
    gen = torch.Generator().manual_seed(42)
    want = [torch.randn(X.shape, generator=gen) for _ in range(4)]
    noise = ComfyAncestral(X, 41)
    assert all(torch.equal(noise(1.0, 0.5), w) for w in want)
    skipped = ComfyAncestral(X, 41, skip=2)
    assert torch.equal(skipped(3.0, 2.0), want[2]) and torch.equal(skipped(2.0, 1.0), want[3])


def test_ancestral_seed_wraps_and_global_rng_is_untouched() -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state()
    top = ComfyAncestral(X, 2**64 - 1)(1.0, 0.5)  # seed + 1 wraps to 0
    assert torch.equal(top, torch.randn(X.shape, generator=torch.Generator().manual_seed(0)))
    comfy_tree(X, torch.tensor([14.6, 1.0, 0.0]), 3, cpu=True)(torch.tensor(14.6),
                                                              torch.tensor(1.0))
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.filterwarnings("ignore:Should have:UserWarning")  # torchsde clamps σ_max
def test_tree_is_comfyuis_construction() -> None:
    """torchsde.BrownianTree(t0, zeros, t1, entropy=seed) over float32 σ on CPU; a query is
    (W(b) − W(a))/√|b − a| with the sign of b − a."""
    sig = torch.tensor([14.6146, 4.0, 1.0, 0.0292, 0.0])
    lo, hi = sig[sig > 0].min(), sig.max()
    tree = torchsde.BrownianTree(lo, torch.zeros(X.shape), hi, entropy=7)
    noise = comfy_tree(X, sig, 7, cpu=True)
    for a, b in ((sig[0], sig[1]), (sig[2], sig[3]), (sig[1], sig[0])):
        lo_, hi_ = min(a, b), max(a, b)
        want = tree(lo_, hi_) * (1 if b > a else -1) / (b - a).abs().sqrt()
        assert torch.allclose(noise(a, b), want, atol=1e-6)
    again = ComfyBrownian(X, lo, hi, 7, cpu=False)  # on a CPU latent the same tree
    assert torch.equal(again(sig[2], sig[3]), noise(sig[2], sig[3]))
    assert 0.7 < float(noise(sig[1], sig[2]).std()) < 1.3


def test_tree_depends_on_its_span() -> None:
    """Why splitting a ComfyUI SDE call changes its noise: the tree spans the call's σ range."""
    sig = torch.tensor([14.6146, 4.0, 1.0, 0.0292, 0.0])
    whole = comfy_tree(X, sig, 7, cpu=True)(sig[1], sig[2])
    part = comfy_tree(X, sig[1:], 7, cpu=True)(sig[1], sig[2])
    assert not torch.allclose(whole, part, atol=1e-2)


def test_call_start_is_checked() -> None:
    base = {"steps": 6, "start": 3, "sampler": "euler_ancestral"}
    Steps.model_validate({**base, "call_start": 0, "noise_mode": "comfy"})
    Steps.model_validate({**base, "call_start": 3})  # the node is the whole call
    for bad, match in (({"call_start": 0}, "noise_mode"),
                       ({"call_start": 4, "noise_mode": "comfy"}, "after start"),
                       ({"call_start": 0, "noise_mode": "comfy", "sampler": "dpmpp_2m_sde"},
                        "Brownian tree")):
        with pytest.raises(ValidationError, match=match):
            Steps.model_validate({**base, **bad})


def test_noise_mode_is_a_param_of_every_sampler_like_op() -> None:
    from graphrt.library import default_registry

    registry = default_registry()
    names = ["sample.steps", "sample.unsample", "sample.separated", "sample.split",
             "sample.img2img_refine", "sample.regional", "sample.regional_fused",
             "sample.regional_batched", "sample.masked_pair"]
    for name in names:
        spec = registry.get(name)
        assert spec is not None, name
        field = spec.params.model_fields["noise_mode"]
        assert field.default == "graphrt", name
