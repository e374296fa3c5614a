"""sample.masked_pair against TwoAdvancedSamplersForMask as ComfyUI + Impact compute it
(tests/seeds/comfy_impact_path.py: its own table, schedules, t(σ), denoiser and Euler loop),
from a non-zero latent with denoise < 1, on the toy model; tests/real/test_masked_pair_real.py
does the same on a tiny real-layout SD 1.5 UNet.

The cause of the difference (docs/reproducibility.md §8): with N′ = int(steps/denoise) odd,
the `normal` schedule puts a point at timestep 499.5, whose σ lies halfway between σ_499 and
σ_500 in log space. ComfyUI computes that σ in float32 and its quantized t(σ) picks 500;
graphrt computed it in float64 (and its log table from the float32 table) and picked 499, so
one step of the base-only call — the whole latent — saw the network at another timestep.
"""

from __future__ import annotations

from typing import Any

import comfy_impact_path as cip
import pytest
import torch
import toy_graphs as tg
from test_masked_pair_upstream import encoded_pair_graph

from graphrt import Runtime
from graphrt.ops.kernels.model import DiffusionModel
from graphrt.ops.kernels.schedules import calculate_sigmas
from graphrt.ops.kernels.separated import run_separated

SEED = 5


def comfy_timesteps(scheduler: str, n: int) -> list[int]:
    return cip.MS.timestep(cip.MS.schedule(scheduler, n)[:-1]).tolist()


def graphrt_timesteps(scheduler: str, n: int) -> list[int]:
    sigmas = torch.tensor(calculate_sigmas(scheduler, n)[:-1], dtype=torch.float32)
    model = DiffusionModel(lambda *a: None, latent_scale=1.0)  # type: ignore[arg-type, return-value]
    return model.timestep(sigmas).long().tolist()


@pytest.mark.parametrize("scheduler", ["normal", "sgm_uniform"])
def test_uniform_schedules_hit_comfyuis_timesteps(scheduler: str) -> None:
    """Every σ of normal / sgm_uniform maps to ComfyUI's table timestep, ties included
    (n = 33: t = 499.5 → 500; the old float64 schedule gave 499)."""
    for n in range(1, 160):
        assert graphrt_timesteps(scheduler, n) == comfy_timesteps(scheduler, n), n
    assert 500 in graphrt_timesteps("normal", 33)


@pytest.mark.parametrize("scheduler", ["normal", "sgm_uniform", "karras"])
def test_schedules_equal_comfyuis_float32_values(scheduler: str) -> None:
    """normal / sgm_uniform follow ComfyUI's float32 arithmetic (exp may differ by an ulp);
    karras stays float64 in graphrt, within ComfyUI's own float32 rounding of it."""
    tol = 1e-6 if scheduler == "karras" else 1.2e-7
    for n in (1, 2, 7, 20, 33, 57, 100):
        ours = torch.tensor(calculate_sigmas(scheduler, n), dtype=torch.float32)
        ref = cip.MS.schedule(scheduler, n)
        assert float(((ours - ref).abs() / ref.clamp(min=1e-3)).max()) <= tol, n


class Calls:
    """Records each sampler call of the reference, to replay it through graphrt."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict, torch.Tensor, torch.Tensor | None, torch.Tensor]] = []

    def __call__(self, label: str, bundle: dict, x: torch.Tensor, mask: torch.Tensor | None,
                 sigmas: torch.Tensor, out: torch.Tensor) -> None:
        self.rows.append((label, bundle, x, mask, out))


def replay(calls: Calls, steps: int, seed: int) -> list[tuple[str, float]]:
    """Each recorded call run by graphrt's sample.separated kernel on the SAME input latent:
    (label, max |graphrt − reference|)."""
    diffs = []
    for label, b, x, mask, out in calls.rows:
        i = int(label.split(".")[0])
        got = run_separated(b["model"], {"samples": x}, b["positive"], b["negative"],
                            seed=seed, steps=steps, cfg=b["cfg"], sampler=b["sampler"],
                            scheduler=b["scheduler"], start=i, end=i + 1,
                            add_noise=label.endswith("base_only"), leftover=True, mask=mask,
                            noise_mode="comfy")["samples"]
        diffs.append((label, float((got - out).abs().max())))
    return diffs


def run_toy(params: dict[str, Any], scheduler: str) -> tuple[torch.Tensor, torch.Tensor, Calls]:
    result = Runtime(device="cpu").run(encoded_pair_graph(params, "euler", scheduler))
    assert result.ok, result.failed
    latent = result.outputs["latent"]
    assert float(latent["samples"].abs().min()) > 0.0
    base, regions = tg.regional_reference_inputs("euler", scheduler)
    mask, mask_sampler = regions[0]
    calls = Calls()
    expected = cip.two_samplers_for_mask(
        base, mask_sampler, mask, {"samples": latent["samples"]}, seed=params["seed"],
        steps=params["steps"], denoise=params["denoise"], overlap=params["overlap_factor"],
        recorder=calls)
    return result.outputs["out"]["samples"], expected["samples"], calls


# (steps, denoise): N′ = 33 (a tie step inside the run), 11 (tie at the first loop step), 10
CASES = [(20, 0.6, "normal"), (7, 0.6, "normal"), (6, 0.6, "normal"), (20, 0.6, "karras"),
         (5, 0.45, "sgm_uniform")]


@pytest.mark.parametrize(("steps", "denoise", "scheduler"), CASES)
def test_macro_equals_comfyui_impact_path_on_the_toy(steps: int, denoise: float,
                                                     scheduler: str) -> None:
    params = {"steps": steps, "denoise": denoise, "overlap_factor": 3, "seed": SEED}
    out, expected, calls = run_toy(params, scheduler)
    per_call = replay(calls, int(steps / denoise), SEED)
    assert max(d for _, d in per_call) <= 2e-5, per_call
    assert float((out - expected).abs().max()) <= 2e-5 * float(expected.abs().max())
