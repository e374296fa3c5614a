"""model.sampling_discrete (ModelSamplingDiscrete): each parameterisation against its formula
computed here from a known network output, the zsnr and LCM tables against their formulas,
purity, and a v-prediction model sampling onto the toy family's closed-form flow."""

from __future__ import annotations

import math
from typing import Any

import k_diffusion.sampling as ks
import pytest
import torch

from graphrt.core.values import content_digest
from graphrt.ops.kernels.model import DiffusionModel
from graphrt.ops.kernels.table import sigma_table
from graphrt.ops.model_sampling import SamplingDiscrete, sampling_discrete
from graphrt.ops.models.toy import load_toy
from tests.ops.red_circle import red_circle
from tests.ops.vnet import VNet

SIGMAS = [0.05, 0.9, 3.0, 14.0]


class Recorder:
    """A net returning a fixed output and recording what it was given."""

    def __init__(self, out: torch.Tensor) -> None:
        self.out, self.calls = out, []  # type: list[Any]

    def __call__(self, x_in: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                 y: torch.Tensor | None) -> torch.Tensor:
        self.calls.append((x_in.clone(), t.clone()))
        return self.out


def reference_table(zsnr: bool) -> torch.Tensor:
    """ComfyUI's schedule in float64 torch: betas, ᾱ, σ; zsnr as in the ZTSNR paper."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    if zsnr:
        root = alphas_cumprod.sqrt()
        root = (root - root[-1]) * root[0] / (root[0] - root[-1])
        alphas_cumprod = root ** 2
        alphas_cumprod[-1] = 4.8973451890853435e-08
    return ((1 - alphas_cumprod) / alphas_cumprod).sqrt()


def patched(sampling: str, zsnr: bool = False) -> tuple[DiffusionModel, Recorder, Any]:
    gen = torch.Generator().manual_seed(1)
    out = torch.randn(len(SIGMAS), 4, 2, 2, dtype=torch.float64, generator=gen)
    net = Recorder(out)
    base = DiffusionModel(net, latent_scale=1.0)
    model = sampling_discrete(SamplingDiscrete(sampling=sampling, zsnr=zsnr), base)  # type: ignore[arg-type]
    x = torch.randn(len(SIGMAS), 4, 2, 2, dtype=torch.float64, generator=gen)
    sigma = torch.tensor(SIGMAS, dtype=torch.float64)
    return model, net, (x, sigma, model.denoise(x, sigma, torch.zeros(1, 1, 1)))


def col(v: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, 1, 1, 1)


@pytest.mark.parametrize("sampling", ["eps", "v_prediction", "x0"])
def test_parameterisations(sampling: str) -> None:
    model, net, (x, sigma, got) = patched(sampling)
    s, out = col(sigma), net.out
    want = {"eps": x - s * out,
            "v_prediction": x / (s * s + 1) - s * out / (s * s + 1).sqrt(),
            "x0": out}[sampling]
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    x_in, t = net.calls[0]
    torch.testing.assert_close(x_in, x / (s * s + 1).sqrt())
    logs = torch.tensor(sigma_table(), dtype=torch.float64).log()
    assert t.tolist() == (sigma.log()[:, None] - logs[None]).abs().argmin(1).tolist()
    assert model.table == sigma_table()


def test_lcm() -> None:
    model, net, (x, sigma, got) = patched("lcm")
    full = sigma_table()
    table = [full[999 - 20 * (49 - i)] for i in range(50)]
    assert model.table == tuple(table) and len(table) == 50
    assert model.table[0] == full[19] and model.table[-1] == full[999]
    logs = torch.tensor(table, dtype=torch.float64).log()
    index = (sigma.log()[:, None] - logs[None]).abs().argmin(1)
    t = index * 20 + 19
    assert net.calls[0][1].tolist() == t.tolist()
    ts = col(t.double()) * 10.0
    s = col(sigma)
    c_skip = 0.5 ** 2 / (ts ** 2 + 0.5 ** 2)
    c_out = ts / (ts ** 2 + 0.5 ** 2) ** 0.5
    want = c_out * (x - net.out * s) + c_skip * x
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_zsnr_table() -> None:
    model, _, _ = patched("v_prediction", zsnr=True)
    ref = reference_table(zsnr=True)
    torch.testing.assert_close(torch.tensor(model.table, dtype=torch.float64), ref,
                               rtol=1e-9, atol=0)
    assert abs(model.table[0] - sigma_table()[0]) < 1e-12  # first σ kept
    assert model.sigma_max == pytest.approx(math.sqrt((1 - 4.8973451890853435e-08)
                                                      / 4.8973451890853435e-08))
    torch.testing.assert_close(torch.tensor(sigma_table(), dtype=torch.float64),
                               reference_table(zsnr=False), rtol=1e-9, atol=0)
    lcm, _, _ = patched("lcm", zsnr=True)  # zsnr first, then LCM's 50 timesteps
    assert lcm.table == tuple(model.table[999 - 20 * (49 - i)] for i in range(50))


def test_pure_and_rebuilt_from_scratch() -> None:
    model, _, _ = load_toy("toy-shapes")
    before = content_digest(model)
    lcm = sampling_discrete(SamplingDiscrete(sampling="lcm", zsnr=True), model)
    assert content_digest(model) == before
    assert model.prediction == "eps" and model.table == sigma_table()
    assert lcm.net is model.net and lcm is not model
    back = sampling_discrete(SamplingDiscrete(sampling="eps"), lcm)
    assert back.table == sigma_table() and (back.stride, back.offset) == (1, 0)


def test_v_prediction_samples_onto_the_closed_form() -> None:
    """The exact v-network of the toy family's "a red circle on the left" Gaussian, made a
    v-model by the op, lands on x(0) of the probability flow; read as ε it does not."""
    case = red_circle()
    toy, cond, x_t = case.toy, case.cond, case.x_t
    exact = case.flow_end(toy.sigma_max)
    wrong = DiffusionModel(VNet(toy.net), latent_scale=1.0, quantize=False)
    v_model = sampling_discrete(SamplingDiscrete(sampling="v_prediction"), wrong)
    sigmas = ks.get_sigmas_karras(40, toy.sigma_min, toy.sigma_max).double()

    def run(model: DiffusionModel) -> torch.Tensor:
        return ks.sample_euler(lambda x, sigma, **_: model.denoise(x, sigma, cond),
                               x_t.clone(), sigmas, disable=True)

    assert (run(v_model) - exact).abs().max() < 0.03
    assert (run(wrong) - exact).abs().max() > 0.3
