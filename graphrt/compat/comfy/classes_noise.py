"""ComfyUI_Noise's classes around its Unsampler (BlenderNeko/ComfyUI_Noise 0c9ec19, nodes.py),
as class-table entries: the noise latent, batch duplication, slerp, noise injection and the
noise level between two steps, used by its variations workflow.

Input names, order, defaults and enums are ComfyUI_Noise's; ranges live in each op's params.
BNK_InjectNoise's `strength` widget may be converted to an input fed by BNK_GetSigma's FLOAT,
which then goes to the op's `strength` port. BNK_DuplicateBatchIndex is no longer registered
by ComfyUI_Noise's current version (its mapping is commented out) but older workflows use it.
classes.py merges `NOISE_CLASSES` into `CLASSES`.
"""

from __future__ import annotations

from graphrt.compat.comfy.classes import In, NodeClass

_LATENT = (("LATENT", "out"),)
_STEP8 = {"step": 8}
_CATEGORY = "latent/noise"

NOISE_CLASSES: dict[str, NodeClass] = {
    "BNK_NoisyLatentImage": NodeClass(
        "latent.noisy",
        (In("source", "COMBO", "source", "CPU", options=("CPU", "GPU")),
         In("seed", "INT", "seed", 0), In("width", "INT", "width", 512, extra=_STEP8),
         In("height", "INT", "height", 512, extra=_STEP8),
         In("batch_size", "INT", "batch", 1)),
        _LATENT, category=_CATEGORY, display_name="Noisy Latent Image"),
    "BNK_DuplicateBatchIndex": NodeClass(
        "latent.duplicate_index",
        (In("latents", "LATENT", "latents"), In("batch_index", "INT", "batch_index", 0),
         In("batch_size", "INT", "batch_size", 1)),
        _LATENT, category="latent", display_name="Duplicate Batch Index"),
    "BNK_SlerpLatent": NodeClass(
        "latent.slerp",
        (In("latents1", "LATENT", "latents1"),
         In("factor", "FLOAT", "factor", 0.5, extra={"step": 0.01}),
         In("latents2", "LATENT", "latents2", optional=True),
         In("mask", "MASK", "mask", optional=True)),
        _LATENT, category="latent", display_name="Slerp Latents"),
    "BNK_GetSigma": NodeClass(
        "sigmas.get_sigma",
        (In("model", "MODEL", "model"), In("sampler_name", "COMBO", "sampler"),
         In("scheduler", "COMBO", "scheduler"), In("steps", "INT", "steps", 10000),
         In("start_at_step", "INT", "start_at_step", 0),
         In("end_at_step", "INT", "end_at_step", 10000)),
        (("FLOAT", "out"),), category=_CATEGORY, display_name="Get Sigma"),
    "BNK_InjectNoise": NodeClass(
        "latent.inject_noise",
        (In("latents", "LATENT", "latents"),
         In("strength", "FLOAT", "strength", 1.0, extra={"step": 0.01}, link="strength"),
         In("noise", "LATENT", "noise", optional=True),
         In("mask", "MASK", "mask", optional=True)),
        _LATENT, category=_CATEGORY, display_name="Inject Noise"),
}
