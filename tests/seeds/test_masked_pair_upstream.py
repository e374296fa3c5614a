"""sample.masked_pair equals Impact's current TwoAdvancedSamplersForMask, followed call by call
(tests/seeds/impact_path.py), from a non-zero latent with denoise < 1, in both noise modes.

The difference to upstream that this pins down (docs/semantics.md §9.2): the macro used to run
the base-only first step with the recovery passes on and to take the last step without
leftover noise (returning the last x0). Upstream runs that first call with recovery_mode
"DISABLE" and passes return_with_leftover_noise=True to every call, the last included (it
still ends at σ = 0, so the state is returned). Euler is blind to both; an SP sampler's
first step (whole latent, so the error is spread over all of it) and dpm_fast's last step are
not.
"""

from __future__ import annotations

from typing import Any

import impact_path as ip
import pytest
import torch
import toy_graphs as tg

from graphrt import Runtime

TOL = 1e-5
DENOISE = 0.6


def encoded_pair_graph(params: dict[str, Any], sampler: str, scheduler: str) -> dict[str, Any]:
    """masked_pair on the toy VAE's encoding of example.png (a non-zero latent)."""
    graph = tg.masked_pair_graph(params, sampler, scheduler)
    graph["nodes"].update({
        "load": {"op": "image.load", "params": {"name": "example.png"}},
        "small": {"op": "image.scale", "in": {"image": "load.image"},
                  "params": {"width": 64, "height": 64, "method": "area"}},
        "enc": {"op": "latent.encode", "in": {"vae": "ckpt.vae", "image": "small.out"}},
    })
    graph["nodes"]["pair"]["in"]["latent"] = "enc.out"
    graph["outputs"] = {"out": "pair.out", "latent": "enc.out"}
    return graph


def run_both(params: dict[str, Any], sampler: str, scheduler: str,
             separated: ip.Separated) -> tuple[torch.Tensor, torch.Tensor]:
    """(macro output, Impact-path output) for the same non-zero latent."""
    result = Runtime(device="cpu").run(encoded_pair_graph(params, sampler, scheduler))
    assert result.ok, result.failed
    latent = result.outputs["latent"]
    assert float(latent["samples"].abs().min()) > 0.0
    base, regions = tg.regional_reference_inputs(sampler, scheduler)
    mask, mask_sampler = regions[0]
    expected = ip.two_samplers_for_mask(
        separated, {"samples": latent["samples"]}, base, mask_sampler, mask,
        seed=params.get("seed", 0), steps=params["steps"], denoise=params["denoise"],
        overlap=params["overlap_factor"])
    out = result.outputs["out"]
    assert "noise_mask" not in out
    return out["samples"], expected["samples"]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


# euler: the case; dpmpp_2m_sde / dpmpp_sde: recovery was on in the base-only step;
# dpm_fast: the last step returned x0 instead of the state
GRAPHRT_CASES = [("euler", "karras"), ("dpmpp_2m_sde", "karras"), ("dpmpp_sde", "normal"),
                 ("dpm_fast", "karras"), ("euler_ancestral", "karras"), ("heun", "simple")]


@pytest.mark.parametrize(("sampler", "scheduler"), GRAPHRT_CASES)
def test_macro_follows_impacts_code_path(sampler: str, scheduler: str) -> None:
    params = {"steps": 4, "denoise": DENOISE, "overlap_factor": 3, "seed": 5}
    out, expected = run_both(params, sampler, scheduler, ip.separated_graphrt)
    assert float((out - expected).abs().max()) <= TOL


def test_one_step_keeps_the_state() -> None:
    """steps = 1: the base-only call is the whole run; upstream returns its state."""
    params = {"steps": 1, "denoise": 0.5, "overlap_factor": 3}
    out, expected = run_both(params, "dpm_fast", "karras", ip.separated_graphrt)
    assert float((out - expected).abs().max()) <= TOL


COMFY_CASES = [("euler_ancestral", "karras"), ("dpm_2_ancestral", "normal"),
               ("dpmpp_2m_sde", "karras"), ("dpmpp_3m_sde", "karras")]


@pytest.mark.parametrize(("sampler", "scheduler"), COMFY_CASES)
def test_comfy_mode_draws_impacts_noise(sampler: str, scheduler: str) -> None:
    """Every per-step call restarts ComfyUI's generator; SDE calls use Impact's tree over T."""
    params = {"steps": 4, "denoise": DENOISE, "overlap_factor": 3, "seed": 3,
              "noise_mode": "comfy"}
    out, expected = run_both(params, sampler, scheduler, ip.separated_comfy)
    assert float((out - expected).abs().max()) <= 1e-6
