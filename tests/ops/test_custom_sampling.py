"""ComfyUI's custom sampling classes: SamplerCustom(Advanced) over BasicScheduler /
KSamplerSelect equals KSampler, each scheduler node's SIGMAS its closed form (worked by
hand), the sigma edits on small lists, and each class's mapping (ComfyUI's names, defaults,
widget order)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from graphrt.compat.comfy.classes import CLASSES
from graphrt.core.context import OpContext
from graphrt.ops import schedule
from graphrt.ops.kernels.schedules import calculate_sigmas
from graphrt.ops.sample import basic, custom
from tests.ops.samples import sample_value, toy


def call(fn: Any, inputs: tuple[Any, ...] = (), **params: Any) -> Any:
    """Run an op with its params validated as a document's would be."""
    spec = fn.op_spec
    kwargs = {"ctx": OpContext.detached()} if "ctx" in spec.injected else {}
    return fn(spec.params.model_validate(params), *inputs, **kwargs)


def _latent() -> dict[str, Any]:
    return {"samples": torch.zeros(1, 4, 8, 8)}


def _cond() -> tuple[Any, Any]:
    model, clip, _ = toy()
    pos, _ = clip.encode("a red circle on the left")
    neg, _ = clip.encode("a blue square")
    return [[pos, {}]], [[neg, {}]]


# ---- SamplerCustom = KSampler ------------------------------------------------------------

@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_2m_sde"])
@pytest.mark.parametrize("scheduler", ["karras", "normal"])
def test_sampler_custom_equals_ksampler(sampler: str, scheduler: str) -> None:
    model = toy()[0]
    pos, neg = _cond()
    settings = {"seed": 7, "cfg": 3.5, "noise_mode": "comfy"}
    want = call(basic.steps, (model, pos, neg, _latent()), steps=4, sampler=sampler,
                scheduler=scheduler, **settings)
    sigmas = call(schedule.basic, (model,), scheduler=scheduler, steps=4)
    fn = call(custom.select, sampler=sampler)
    got = call(custom.custom, (model, pos, neg, fn, sigmas, _latent()), **settings)
    assert torch.equal(got.output["samples"], want["samples"])
    # the same call through a guider and a noise source (SamplerCustomAdvanced)
    guider = call(custom.cfg, (model, pos, neg), cfg=3.5)
    noise = call(custom.random, seed=7)
    adv = call(custom.custom_advanced, (noise, guider, fn, sigmas, _latent()),
               noise_mode="comfy")
    assert torch.equal(adv.output["samples"], want["samples"])


def test_sampler_custom_denoise_matches_ksampler_and_graphrt_mode() -> None:
    model = toy()[0]
    pos, neg = _cond()
    start = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))}
    for mode in ("comfy", "graphrt"):
        want = call(basic.steps, (model, pos, neg, start), steps=3, denoise=0.6, seed=2,
                    cfg=2.0, sampler="euler_ancestral", scheduler="normal", noise_mode=mode)
        sigmas = call(schedule.basic, (model,), scheduler="normal", steps=3, denoise=0.6)
        got = call(custom.custom, (model, pos, neg, {"name": "euler_ancestral"}, sigmas,
                                   start), seed=2, cfg=2.0, noise_mode=mode)
        assert torch.equal(got.output["samples"], want["samples"]), mode


def test_basic_guider_disable_noise_and_denoised_output() -> None:
    model = toy()[0]
    pos, neg = _cond()
    start = {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))}
    sigmas = [3.0, 1.0, 0.0]
    euler = {"name": "euler"}
    # BasicGuider is CFG at 1 (the negative never evaluated); DisableNoise is add_noise off
    # with the sampler's own seed 0
    want = call(custom.custom, (model, pos, neg, euler, sigmas, start), add_noise=False,
                seed=0, cfg=1.0, noise_mode="comfy")
    got = call(custom.custom_advanced, (call(custom.disable), call(custom.basic, (model, pos)),
                                        euler, sigmas, start), noise_mode="comfy")
    assert torch.equal(got.output["samples"], want.output["samples"])
    # euler's last step to σ = 0 lands on the denoised prediction: the two outputs agree
    torch.testing.assert_close(got.denoised_output["samples"], got.output["samples"])
    assert not torch.equal(got.output["samples"], start["samples"])
    # one sigma: no step, so denoised_output is output; [] returns the latent as it is
    one = call(custom.custom, (model, pos, neg, euler, [1.0], start), noise_mode="comfy")
    assert one.denoised_output is one.output
    none = call(custom.custom, (model, pos, neg, euler, [], start), noise_mode="comfy")
    assert torch.equal(none.output["samples"], start["samples"])


# ---- schedules, by hand ------------------------------------------------------------------

def test_basic_scheduler() -> None:
    model = toy()[0]
    table = model.table
    assert call(schedule.basic, (model,), scheduler="normal", steps=4) == \
        calculate_sigmas("normal", 4, table)
    # denoise ½: the last 5 of an 8-step schedule; denoise 0: nothing to run
    assert call(schedule.basic, (model,), scheduler="karras", steps=4, denoise=0.5) == \
        calculate_sigmas("karras", 8, table)[-5:]
    assert call(schedule.basic, (model,), scheduler="normal", steps=4, denoise=0.0) == []
    # no penultimate drop for dpm_2 / uni_pc: that is KSampler's, not BasicScheduler's
    assert len(call(schedule.basic, (model,), scheduler="simple", steps=3)) == 4
    # steps 2, karras: the table's ends and 0
    s = call(schedule.basic, (model,), scheduler="karras", steps=2)
    assert s == pytest.approx([table[-1], table[0], 0.0], rel=1e-12)


def test_karras_exponential_polyexponential_by_hand() -> None:
    # ρ = 2 from 10 to 0.1: the midpoint is ((√10 + √0.1)/2)² = (10 + 0.1 + 2)/4 = 3.025
    assert call(schedule.karras, steps=3, sigma_max=10.0, sigma_min=0.1, rho=2.0) == \
        pytest.approx([10.0, 3.025, 0.1, 0.0], rel=1e-12)
    assert call(schedule.karras, steps=1, sigma_max=10.0, sigma_min=0.1) == \
        pytest.approx([10.0, 0.0], rel=1e-12)
    # exponential: geometric steps; 10 → 0.1 in 3 points passes through 1
    assert call(schedule.exponential, steps=3, sigma_max=10.0, sigma_min=0.1) == \
        pytest.approx([10.0, 1.0, 0.1, 0.0], rel=1e-12)
    # polyexponential ρ = 2: ramp r = 1, ½, 0 → r² = 1, ¼, 0 → 10, 0.1·100^¼ = 10^−½, 0.1
    assert call(schedule.polyexponential, steps=3, sigma_max=10.0, sigma_min=0.1,
                rho=2.0) == pytest.approx([10.0, 10**-0.5, 0.1, 0.0], rel=1e-12)
    assert call(schedule.polyexponential, steps=3, sigma_max=10.0, sigma_min=0.1) == \
        pytest.approx([10.0, 1.0, 0.1, 0.0], rel=1e-12)  # ρ = 1 is exponential
    d = call(schedule.karras)  # ComfyUI's defaults: 20 steps from 14.614642 to 0.0291675
    assert len(d) == 21 and d[0] == pytest.approx(14.614642) and d[19] == \
        pytest.approx(0.0291675) and d[20] == 0.0
    with pytest.raises(ValueError):
        call(schedule.karras, rho=0.0)
    with pytest.raises(ValueError):
        call(schedule.exponential, sigma_min=0.0)


def test_sd_turbo_by_hand() -> None:
    model = toy()[0]
    t = model.table
    assert call(schedule.sd_turbo, (model,)) == pytest.approx([t[999], 0.0], rel=1e-12)
    assert call(schedule.sd_turbo, (model,), steps=2, denoise=0.5) == \
        pytest.approx([t[499], t[399], 0.0], rel=1e-12)  # from index 10 − int(5) = 5
    # past the tenth timestep the list is shorter: 0.3 → index 7, timesteps 299, 199, 99
    assert call(schedule.sd_turbo, (model,), steps=10, denoise=0.3) == \
        pytest.approx([t[299], t[199], t[99], 0.0], rel=1e-12)
    assert call(schedule.sd_turbo, (model,), denoise=0.0) == [0.0]


# ---- sigma edits, by hand ----------------------------------------------------------------

def test_split_sigmas() -> None:
    s = [4.0, 3.0, 2.0, 1.0, 0.0]
    assert tuple(call(schedule.split, (s,), step=2)) == ([4.0, 3.0, 2.0], [2.0, 1.0, 0.0])
    assert tuple(call(schedule.split, (s,), step=0)) == ([4.0], s)
    assert tuple(call(schedule.split, (s,), step=9)) == (s, [])


def test_split_sigmas_denoise() -> None:
    # 4 steps; k = round(4·denoise); high = sigmas[:-k], low = the last k+1: they share σ
    s = [4.0, 3.0, 2.0, 1.0, 0.0]
    split = schedule.split_denoise
    assert tuple(call(split, (s,), denoise=0.5)) == ([4.0, 3.0, 2.0], [2.0, 1.0, 0.0])
    # round(2.5) = 2 (half to even)
    assert tuple(call(split, (s,), denoise=0.625)) == ([4.0, 3.0, 2.0], [2.0, 1.0, 0.0])
    assert tuple(call(split, (s,), denoise=0.8)) == ([4.0, 3.0], [3.0, 2.0, 1.0, 0.0])
    assert tuple(call(split, (s,), denoise=1.0)) == ([4.0], s)
    # k = 0: ComfyUI's slice [:-0] leaves the high part empty
    assert tuple(call(split, (s,), denoise=0.0)) == ([], [0.0])


def test_flip_sigmas() -> None:
    assert call(schedule.flip, ([4.0, 3.0, 0.0],)) == [0.0001, 3.0, 4.0]
    assert call(schedule.flip, ([4.0, 2.0],)) == [2.0, 4.0]
    assert call(schedule.flip, ([],)) == []
    s = [1.0, 0.0]
    call(schedule.flip, (s,))
    assert s == [1.0, 0.0]


# ---- the classes ---------------------------------------------------------------------------

WIDGETS = {  # ComfyUI's widget order and defaults (comfy_extras/nodes_custom_sampler.py)
    "KSamplerSelect": ("sampler.select", {"sampler_name": None}),
    "BasicScheduler": ("schedule.basic", {"scheduler": None, "steps": 20, "denoise": 1.0}),
    "KarrasScheduler": ("schedule.karras", {"steps": 20, "sigma_max": 14.614642,
                                            "sigma_min": 0.0291675, "rho": 7.0}),
    "ExponentialScheduler": ("schedule.exponential", {"steps": 20, "sigma_max": 14.614642,
                                                      "sigma_min": 0.0291675}),
    "PolyexponentialScheduler": ("schedule.polyexponential", {
        "steps": 20, "sigma_max": 14.614642, "sigma_min": 0.0291675, "rho": 1.0}),
    "SDTurboScheduler": ("schedule.sd_turbo", {"steps": 1, "denoise": 1.0}),
    "SplitSigmas": ("sigmas.split", {"step": 0}),
    "SplitSigmasDenoise": ("sigmas.split_denoise", {"denoise": 1.0}),
    "FlipSigmas": ("sigmas.flip", {}),
    "RandomNoise": ("noise.random", {"noise_seed": 0}),
    "DisableNoise": ("noise.disable", {}),
    "CFGGuider": ("guider.cfg", {"cfg": 8.0}),
    "BasicGuider": ("guider.basic", {}),
    "SamplerCustom": ("sample.custom", {"add_noise": True, "noise_seed": 0, "cfg": 8.0}),
    "SamplerCustomAdvanced": ("sample.custom_advanced", {}),
}
LINKS = {
    "BasicScheduler": ["model"], "SDTurboScheduler": ["model"], "SplitSigmas": ["sigmas"],
    "SplitSigmasDenoise": ["sigmas"], "FlipSigmas": ["sigmas"],
    "CFGGuider": ["model", "positive", "negative"], "BasicGuider": ["model", "conditioning"],
    "SamplerCustom": ["model", "positive", "negative", "sampler", "sigmas", "latent_image"],
    "SamplerCustomAdvanced": ["noise", "guider", "sampler", "sigmas", "latent_image"],
}
TYPES = {"sampler": "SAMPLER", "sigmas": "SIGMAS", "noise": "NOISE", "guider": "GUIDER"}


@pytest.mark.parametrize("name", sorted(WIDGETS))
def test_class_maps_to_its_op(name: str) -> None:
    from graphrt import default_registry

    cls = CLASSES[name]
    op, widgets = WIDGETS[name]
    assert cls.op == op
    assert [i.name for i in cls.inputs if not i.is_link] == list(widgets)
    for i in cls.inputs:
        if not i.is_link and widgets[i.name] is not None:
            assert i.default == widgets[i.name], (name, i.name)
    assert [i.name for i in cls.inputs if i.is_link] == LINKS.get(name, [])
    for i in cls.inputs:
        if i.name in TYPES:
            assert i.type == TYPES[i.name]
    spec = default_registry().get(op)
    ports = {p.name: p.type.name for p in spec.inputs}
    for i in cls.inputs:  # every link lands on a native port; ComfyUI's SAMPLER is SAMPLER_FN
        if i.is_link:
            assert ports[i.to] == ("SAMPLER_FN" if i.type == "SAMPLER" else i.type)
    if name.startswith("SamplerCustom"):
        assert cls.fixed == {"noise_mode": "comfy"}
        assert [o[0] for o in cls.outputs] == ["LATENT", "LATENT"]


def test_sample_values_cover_the_new_ports() -> None:
    for port in ("SIGMAS", "SAMPLER_FN", "NOISE", "GUIDER"):
        assert sample_value(port) is not None
    assert math.isclose(CLASSES["KarrasScheduler"].input("rho").default, 7.0)  # type: ignore
