"""Impact Pack's provider, regional, pipe and preview classes, as class-table entries.

Input names, order, defaults and enum values are Impact Pack's (modules/impact/
impact_pack.py, special_samplers.py, util_nodes.py, bridge_nodes.py); ranges live in each
op's params. A BASIC_PIPE is the native `pipe.*` family; KSamplerAdvancedProvider is
`pipe.sampler`, which the regional macros read at plan time like `sample.sampler`.
KSamplerProvider is `impact.ksampler`, a KSAMPLER value that `impact.two_samplers_for_mask`
(TwoSamplersForMask) runs. Optional inputs that graphrt has no counterpart for
(KSamplerAdvancedProvider's sampler_opt, the providers' scheduler_func_opt, RegionalPrompt's
variation options) are not listed, so a prompt that links them is refused as an unknown
input rather than run without them. PreviewBridge's `image` (the editor's mask edit) becomes
a file name in the input folder (`clipspace_name`). The lead merges `IMPACT_CLASSES` into
`CLASSES`.
"""

from __future__ import annotations

from typing import Any

from graphrt.compat.comfy.classes import In, NodeClass

_COMFY_NOISE = {"noise_mode": "comfy"}
_BOOL = {"label_on": "enabled", "label_off": "disabled"}
_LATENT = (("LATENT", "out"),)
_PIPE = (("BASIC_PIPE", "out"),)
_PARTS = (("MODEL", "model"), ("CLIP", "clip"), ("VAE", "vae"),
          ("CONDITIONING", "positive"), ("CONDITIONING", "negative"))
_PART_INPUTS = (("model", "MODEL"), ("clip", "CLIP"), ("vae", "VAE"),
                ("positive", "CONDITIONING"), ("negative", "CONDITIONING"))
COMBINE_SLOTS = 32  # CombineRegionalPrompts grows a slot per link; graphrt reads this many
SEED_2ND_MODES = ("ignore", "fixed", "seed+seed_2nd", "seed-seed_2nd", "increment",
                  "decrement", "randomize")
ADDITIONAL_MODES = ("DISABLE", "ratio additional", "ratio between")
ADDITIONAL_SAMPLERS = ("AUTO", "euler", "heun", "heunpp2", "dpm_2", "dpm_fast", "dpmpp_2m",
                       "ddpm")


def clipspace_name(value: Any) -> Any:
    """PreviewBridge's edited image as a file name in the input folder: the dict the editor of
    2023 stored ({"filename", "subfolder", "type", ...}) becomes `subfolder/filename`, read as
    that Impact read it (LoadImage on "subfolder/filename [type]"); " [input]" is dropped.
    Other types keep their annotation, which the op refuses."""
    if isinstance(value, dict) and isinstance(value.get("filename"), str):
        sub, kind = value.get("subfolder") or "", value.get("type") or "input"
        value = f"{sub}/{value['filename']}" if sub else value["filename"]
        value = value if kind == "input" else f"{value} [{kind}]"
    if isinstance(value, str) and value.endswith(" [input]"):
        return value[: -len(" [input]")]
    return value


IMPACT_CLASSES: dict[str, NodeClass] = {
    "KSamplerAdvancedProvider": NodeClass(
        "pipe.sampler",
        (In("cfg", "FLOAT", "cfg", 8.0), In("sampler_name", "COMBO", "sampler"),
         In("scheduler", "COMBO", "scheduler"),
         In("sigma_factor", "FLOAT", "sigma_factor", 1.0, extra={"step": 0.01}),
         In("basic_pipe", "BASIC_PIPE", "basic_pipe")),
        (("KSAMPLER_ADVANCED", "out"),), category="ImpactPack/Sampler"),
    "KSamplerProvider": NodeClass(
        "impact.ksampler",
        (In("seed", "INT", "seed", 0), In("steps", "INT", "steps", 20),
         In("cfg", "FLOAT", "cfg", 8.0), In("sampler_name", "COMBO", "sampler"),
         In("scheduler", "COMBO", "scheduler"),
         In("denoise", "FLOAT", "denoise", 1.0, extra={"step": 0.01}),
         In("basic_pipe", "BASIC_PIPE", "basic_pipe")),
        (("KSAMPLER", "out"),), category="ImpactPack/Sampler"),
    "TwoSamplersForMask": NodeClass(
        "impact.two_samplers_for_mask",
        (In("latent_image", "LATENT", "latent"), In("base_sampler", "KSAMPLER", "base_sampler"),
         In("mask_sampler", "KSAMPLER", "mask_sampler"), In("mask", "MASK", "mask")),
        _LATENT, fixed=_COMFY_NOISE, category="ImpactPack/Sampler"),
    "RegionalPrompt": NodeClass(
        "region.prompt",
        (In("mask", "MASK", "mask"), In("advanced_sampler", "KSAMPLER_ADVANCED", "sampler")),
        (("REGIONAL_PROMPTS", "out"),), category="ImpactPack/Regional"),
    "CombineRegionalPrompts": NodeClass(
        "region.combine",
        tuple(In(f"regional_prompts{k}", "REGIONAL_PROMPTS", "prompts", optional=k > 1)
              for k in range(1, COMBINE_SLOTS + 1)),
        (("REGIONAL_PROMPTS", "out"),), category="ImpactPack/Regional"),
    "RegionalSampler": NodeClass(
        "impact.regional_sampler",
        (In("seed", "INT", "seed", 0), In("seed_2nd", "INT", "seed_2nd", 0),
         In("seed_2nd_mode", "COMBO", "seed_2nd_mode", "ignore", options=SEED_2ND_MODES),
         In("steps", "INT", "steps", 20), In("base_only_steps", "INT", "base_only_steps", 2),
         In("denoise", "FLOAT", "denoise", 1.0, extra={"step": 0.01}),
         In("samples", "LATENT", "latent"),
         In("base_sampler", "KSAMPLER_ADVANCED", "base_sampler"),
         In("regional_prompts", "REGIONAL_PROMPTS", "regional_prompts"),
         In("overlap_factor", "INT", "overlap_factor", 10),
         In("restore_latent", "BOOLEAN", "restore_latent", True, extra=_BOOL),
         In("additional_mode", "COMBO", "additional_mode", "ratio between",
            options=ADDITIONAL_MODES),
         In("additional_sampler", "COMBO", "additional_sampler", "AUTO",
            options=ADDITIONAL_SAMPLERS),
         In("additional_sigma_ratio", "FLOAT", "additional_sigma_ratio", 0.3,
            extra={"step": 0.01})),
        _LATENT, fixed=_COMFY_NOISE, category="ImpactPack/Regional"),
    "ToBasicPipe": NodeClass(
        "pipe.make", tuple(In(name, t, name) for name, t in _PART_INPUTS),
        _PIPE, category="ImpactPack/Pipe", display_name="ToBasicPipe"),
    "FromBasicPipe": NodeClass(
        "pipe.split", (In("basic_pipe", "BASIC_PIPE", "basic_pipe"),), _PARTS,
        category="ImpactPack/Pipe", display_name="FromBasicPipe"),
    "FromBasicPipe_v2": NodeClass(
        "pipe.split", (In("basic_pipe", "BASIC_PIPE", "basic_pipe"),),
        (("BASIC_PIPE", "basic_pipe"), *_PARTS),
        category="ImpactPack/Pipe", display_name="FromBasicPipe_v2"),
    "EditBasicPipe": NodeClass(
        "pipe.edit",
        (In("basic_pipe", "BASIC_PIPE", "basic_pipe"),
         *(In(name, t, name, optional=True) for name, t in _PART_INPUTS)),
        _PIPE, category="ImpactPack/Pipe", display_name="Edit BasicPipe"),
    "PreviewBridge": NodeClass(
        "impact.preview_bridge",
        (In("images", "IMAGE", "images"),
         In("image", "STRING", "image", "", convert=clipspace_name)),
        (("IMAGE", "image"), ("MASK", "mask")), output_node=True,
        category="ImpactPack/Util", display_name="Preview Bridge (Image)"),
}
