"""ComfyUI's custom sampling classes (comfy_extras/nodes_custom_sampler.py) as class-table
entries: schedulers, sigma edits, KSamplerSelect, noise sources, guiders (CFG, Basic,
DualCFG) and the two custom samplers.

Input names, order, defaults, enums and categories are ComfyUI's; ranges live in each op's
params. ComfyUI's SAMPLER type (a sampling algorithm) is native SAMPLER_FN: native SAMPLER
is Impact's KSAMPLER_ADVANCED bundle. The sampling classes fix noise_mode "comfy", so a
ComfyUI document gets ComfyUI's noise. The lead merges `CUSTOM_CLASSES` into `CLASSES`.
"""

from __future__ import annotations

from graphrt.compat.comfy.classes import In, NodeClass

_COMFY_NOISE = {"noise_mode": "comfy"}
_SIGMAS = (("SIGMAS", "out"),)
_SPLIT = (("SIGMAS", "high_sigmas"), ("SIGMAS", "low_sigmas"))
_SAMPLED = (("LATENT", "output"), ("LATENT", "denoised_output"))
_CFG = {"step": 0.1, "round": 0.01}
_DENOISE = {"step": 0.01}
_SIGMA = {"step": 0.01, "round": False}
_SCHEDULERS = "sampling/schedulers"


def _steps(default: int = 20) -> In:
    return In("steps", "INT", "steps", default)


def _sigma_range() -> tuple[In, In]:
    return (In("sigma_max", "FLOAT", "sigma_max", 14.614642, extra=_SIGMA),
            In("sigma_min", "FLOAT", "sigma_min", 0.0291675, extra=_SIGMA))


CUSTOM_CLASSES: dict[str, NodeClass] = {
    "KSamplerSelect": NodeClass(
        "sampler.select", (In("sampler_name", "COMBO", "sampler"),), (("SAMPLER", "out"),),
        category="sampling/samplers"),
    "BasicScheduler": NodeClass(
        "schedule.basic",
        (In("model", "MODEL", "model"), In("scheduler", "COMBO", "scheduler"), _steps(),
         In("denoise", "FLOAT", "denoise", 1.0, extra=_DENOISE)),
        _SIGMAS, category=_SCHEDULERS),
    "KarrasScheduler": NodeClass(
        "schedule.karras",
        (_steps(), *_sigma_range(), In("rho", "FLOAT", "rho", 7.0, extra=_SIGMA)),
        _SIGMAS, category=_SCHEDULERS),
    "ExponentialScheduler": NodeClass(
        "schedule.exponential", (_steps(), *_sigma_range()), _SIGMAS, category=_SCHEDULERS),
    "PolyexponentialScheduler": NodeClass(
        "schedule.polyexponential",
        (_steps(), *_sigma_range(), In("rho", "FLOAT", "rho", 1.0, extra=_SIGMA)),
        _SIGMAS, category=_SCHEDULERS),
    "SDTurboScheduler": NodeClass(
        "schedule.sd_turbo",
        (In("model", "MODEL", "model"), _steps(1),
         In("denoise", "FLOAT", "denoise", 1.0, extra=_DENOISE)),
        _SIGMAS, category=_SCHEDULERS),
    "SplitSigmas": NodeClass(
        "sigmas.split", (In("sigmas", "SIGMAS", "sigmas"), In("step", "INT", "step", 0)),
        _SPLIT, category="sampling/sigmas"),
    "SplitSigmasDenoise": NodeClass(
        "sigmas.split_denoise",
        (In("sigmas", "SIGMAS", "sigmas"),
         In("denoise", "FLOAT", "denoise", 1.0, extra=_DENOISE)),
        _SPLIT, category="sampling/sigmas"),
    "FlipSigmas": NodeClass(
        "sigmas.flip", (In("sigmas", "SIGMAS", "sigmas"),), _SIGMAS, category="sampling/sigmas"),
    "RandomNoise": NodeClass(
        "noise.random", (In("noise_seed", "INT", "seed", 0),), (("NOISE", "out"),),
        category="sampling/noise"),
    "DisableNoise": NodeClass("noise.disable", (), (("NOISE", "out"),),
                              category="sampling/noise"),
    "CFGGuider": NodeClass(
        "guider.cfg",
        (In("model", "MODEL", "model"), In("positive", "CONDITIONING", "positive"),
         In("negative", "CONDITIONING", "negative"), In("cfg", "FLOAT", "cfg", 8.0, extra=_CFG)),
        (("GUIDER", "out"),), category="sampling/guiders", display_name="CFG Guider"),
    "BasicGuider": NodeClass(
        "guider.basic",
        (In("model", "MODEL", "model"), In("conditioning", "CONDITIONING", "conditioning")),
        (("GUIDER", "out"),), category="sampling/guiders", display_name="Basic Guider"),
    "DualCFGGuider": NodeClass(
        "guider.dual_cfg",
        (In("model", "MODEL", "model"), In("cond1", "CONDITIONING", "cond1"),
         In("cond2", "CONDITIONING", "cond2"), In("negative", "CONDITIONING", "negative"),
         In("cfg_conds", "FLOAT", "cfg_conds", 8.0, extra=_CFG),
         In("cfg_cond2_negative", "FLOAT", "cfg_cond2_negative", 8.0, extra=_CFG),
         In("style", "COMBO", "style", "regular", options=("regular", "nested"))),
        (("GUIDER", "out"),), category="sampling/guiders", display_name="DualCFGGuider"),
    "SamplerCustom": NodeClass(
        "sample.custom",
        (In("model", "MODEL", "model"), In("add_noise", "BOOLEAN", "add_noise", True),
         In("noise_seed", "INT", "seed", 0), In("cfg", "FLOAT", "cfg", 8.0, extra=_CFG),
         In("positive", "CONDITIONING", "positive"),
         In("negative", "CONDITIONING", "negative"), In("sampler", "SAMPLER", "sampler"),
         In("sigmas", "SIGMAS", "sigmas"), In("latent_image", "LATENT", "latent")),
        _SAMPLED, fixed=_COMFY_NOISE, category="sampling/custom_sampling"),
    "SamplerCustomAdvanced": NodeClass(
        "sample.custom_advanced",
        (In("noise", "NOISE", "noise"), In("guider", "GUIDER", "guider"),
         In("sampler", "SAMPLER", "sampler"), In("sigmas", "SIGMAS", "sigmas"),
         In("latent_image", "LATENT", "latent")),
        _SAMPLED, fixed=_COMFY_NOISE, category="sampling/custom_sampling"),
}
