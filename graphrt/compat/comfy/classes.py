"""The ComfyUI node classes graphrt understands, as data: inputs, defaults, outputs, op.

Each class maps to one native op. An input is either a link (its type is a port type, such
as "MODEL") or a widget (INT, FLOAT, STRING, BOOLEAN, COMBO) that becomes a param. Names,
defaults and enum strings are ComfyUI's; `to` is the native port or param name. Output
indices map to native port names in order. Sampling classes fix `noise_mode: "comfy"`, so a
ComfyUI document gets ComfyUI's noise (docs/reproducibility.md). The server's /object_info
is built from this table plus each op's params schema (ranges, enum values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WIDGETS = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
REQUIRED = object()  # a widget with no default (ComfyUI marks it required)


def _enable(value: Any) -> Any:
    """KSamplerAdvanced's "enable"/"disable" strings as booleans (other values pass through
    so that validation reports them)."""
    return {"enable": True, "disable": False}.get(value, value) if isinstance(value, str) \
        else value


def _annotated_name(value: Any) -> Any:
    """LoadImage names may carry a folder annotation: "photo.png [input]"."""
    if isinstance(value, str) and value.endswith(" [input]"):
        return value[: -len(" [input]")]
    return value


@dataclass(frozen=True)
class In:
    """One ComfyUI input: its name, type, native target, default and value conversion."""

    name: str
    type: str
    to: str
    default: Any = REQUIRED
    convert: Callable[[Any], Any] | None = None
    optional: bool = False
    options: tuple[str, ...] = ()  # COMBO values shown by /object_info when not in the schema
    extra: dict[str, Any] = field(default_factory=dict)  # /object_info hints (multiline, step)
    link: str = ""  # the native port a link into this widget feeds (a converted widget)

    @property
    def is_link(self) -> bool:
        return self.type not in WIDGETS


@dataclass(frozen=True)
class NodeClass:
    """One ComfyUI class_type and how it becomes a native node."""

    op: str
    inputs: tuple[In, ...]
    outputs: tuple[tuple[str, str], ...] = ()  # (ComfyUI type, native port), by index
    fixed: dict[str, Any] = field(default_factory=dict)  # params the class always sets
    output_node: bool = False
    category: str = ""
    display_name: str = ""
    # A class graphrt works out while translating rather than running (graphrt.compat.comfy
    # .folding): `compute` gives a value class's outputs from its widget values; `compose`
    # gives the API nodes a composite class stands for, and where each of its outputs is.
    compute: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None
    compose: Callable[[str, dict[str, Any]], tuple[dict[str, Any], list[list[Any]]]] | None \
        = None

    def input(self, name: str) -> In | None:
        return next((i for i in self.inputs if i.name == name), None)

    def is_variadic(self, native: str) -> bool:
        """Several ComfyUI inputs feed this one native port (ConditioningCombine)."""
        return sum(1 for i in self.inputs if i.to == native) > 1

    def comfy_name(self, native: str) -> str | None:
        """The ComfyUI input name for a native port or param name."""
        return next((i.name for i in self.inputs if i.to == native), None)


_SAMPLING = (In("model", "MODEL", "model"), In("positive", "CONDITIONING", "positive"),
             In("negative", "CONDITIONING", "negative"))
_LATENT = (("LATENT", "out"),)
_COND = (("CONDITIONING", "out"),)
_IMAGE = (("IMAGE", "out"),)
_MULTILINE = {"multiline": True, "dynamicPrompts": True}
_COMFY_NOISE = {"noise_mode": "comfy"}  # ComfyUI documents get ComfyUI's noise

CLASSES: dict[str, NodeClass] = {
    "CheckpointLoaderSimple": NodeClass(
        "model.load_checkpoint", (In("ckpt_name", "COMBO", "name"),),
        (("MODEL", "model"), ("CLIP", "clip"), ("VAE", "vae")), category="loaders",
        display_name="Load Checkpoint"),
    "CLIPTextEncode": NodeClass(
        "text.encode", (In("text", "STRING", "text", extra=_MULTILINE),
                        In("clip", "CLIP", "clip")), _COND, category="conditioning",
        display_name="CLIP Text Encode (Prompt)"),
    "CLIPTextEncodeSDXL": NodeClass(
        "text.encode_sdxl",
        (In("clip", "CLIP", "clip"), In("width", "INT", "width", 1024),
         In("height", "INT", "height", 1024), In("crop_w", "INT", "crop_w", 0),
         In("crop_h", "INT", "crop_h", 0), In("target_width", "INT", "target_width", 1024),
         In("target_height", "INT", "target_height", 1024),
         In("text_g", "STRING", "text_g", extra=_MULTILINE),
         In("text_l", "STRING", "text_l", extra=_MULTILINE)),
        _COND, category="advanced/conditioning"),
    "CLIPTextEncodeSDXLRefiner": NodeClass(
        "text.encode_sdxl_refiner",
        (In("ascore", "FLOAT", "aesthetic_score", 6.0), In("width", "INT", "width", 1024),
         In("height", "INT", "height", 1024), In("text", "STRING", "text", extra=_MULTILINE),
         In("clip", "CLIP", "clip")),
        _COND, category="advanced/conditioning"),
    "EmptyLatentImage": NodeClass(
        "latent.empty", (In("width", "INT", "width", 512), In("height", "INT", "height", 512),
                         In("batch_size", "INT", "batch", 1)),
        _LATENT, category="latent", display_name="Empty Latent Image"),
    "KSampler": NodeClass(
        "sample.steps",
        (_SAMPLING[0], In("seed", "INT", "seed", 0), In("steps", "INT", "steps", 20),
         In("cfg", "FLOAT", "cfg", 8.0), In("sampler_name", "COMBO", "sampler"),
         In("scheduler", "COMBO", "scheduler"), *_SAMPLING[1:],
         In("latent_image", "LATENT", "latent"), In("denoise", "FLOAT", "denoise", 1.0)),
        _LATENT, fixed=_COMFY_NOISE, category="sampling"),
    "KSamplerAdvanced": NodeClass(
        "sample.steps",
        (_SAMPLING[0], In("add_noise", "COMBO", "add_noise", "enable", _enable,
                          options=("enable", "disable")),
         In("noise_seed", "INT", "seed", 0), In("steps", "INT", "steps", 20),
         In("cfg", "FLOAT", "cfg", 8.0), In("sampler_name", "COMBO", "sampler"),
         In("scheduler", "COMBO", "scheduler"), *_SAMPLING[1:],
         In("latent_image", "LATENT", "latent"),
         In("start_at_step", "INT", "start", 0), In("end_at_step", "INT", "end", 10000),
         In("return_with_leftover_noise", "COMBO", "leftover_noise", "disable", _enable,
            options=("disable", "enable"))),
        _LATENT, fixed=_COMFY_NOISE, category="sampling", display_name="KSampler (Advanced)"),
    "VAEEncode": NodeClass(
        "latent.encode", (In("pixels", "IMAGE", "image"), In("vae", "VAE", "vae")), _LATENT,
        category="latent", display_name="VAE Encode"),
    "VAEDecode": NodeClass(
        "latent.decode", (In("samples", "LATENT", "latent"), In("vae", "VAE", "vae")), _IMAGE,
        category="latent", display_name="VAE Decode"),
    "LoadImage": NodeClass(
        "image.load", (In("image", "COMBO", "name", convert=_annotated_name,
                          extra={"image_upload": True}),),
        (("IMAGE", "image"), ("MASK", "mask")), category="image", display_name="Load Image"),
    "SaveImage": NodeClass(
        "image.save", (In("images", "IMAGE", "images"),
                       In("filename_prefix", "STRING", "prefix", "ComfyUI")),
        output_node=True, category="image", display_name="Save Image"),
    "PreviewImage": NodeClass(
        "image.save", (In("images", "IMAGE", "images"),), fixed={"prefix": "previews/preview"},
        output_node=True, category="image", display_name="Preview Image"),
    "ImageScale": NodeClass(
        "image.scale", (In("image", "IMAGE", "image"),
                        In("upscale_method", "COMBO", "method", "nearest-exact"),
                        In("width", "INT", "width", 512), In("height", "INT", "height", 512),
                        In("crop", "COMBO", "crop", "disabled")),
        _IMAGE, category="image/upscaling", display_name="Upscale Image"),
    "ImageBlend": NodeClass(
        "image.blend", (In("image1", "IMAGE", "image1"), In("image2", "IMAGE", "image2"),
                        In("blend_factor", "FLOAT", "factor", 0.5),
                        In("blend_mode", "COMBO", "mode", "normal")),
        _IMAGE, category="image/postprocessing", display_name="Image Blend"),
    "SetLatentNoiseMask": NodeClass(
        "latent.set_noise_mask", (In("samples", "LATENT", "latent"), In("mask", "MASK", "mask")),
        _LATENT, category="latent/inpaint", display_name="Set Latent Noise Mask"),
    "LatentCompositeMasked": NodeClass(
        "latent.composite_masked",
        (In("destination", "LATENT", "destination"), In("source", "LATENT", "source"),
         In("x", "INT", "x", 0), In("y", "INT", "y", 0),
         In("resize_source", "BOOLEAN", "resize_source", False),
         In("mask", "MASK", "mask", optional=True)),
        _LATENT, category="latent"),
    "ConditioningCombine": NodeClass(
        "cond.combine", (In("conditioning_1", "CONDITIONING", "conditioning"),
                         In("conditioning_2", "CONDITIONING", "conditioning")),
        _COND, category="conditioning", display_name="Conditioning (Combine)"),
    "ConditioningSetMask": NodeClass(
        "cond.set_mask", (In("conditioning", "CONDITIONING", "conditioning"),
                          In("mask", "MASK", "mask"), In("strength", "FLOAT", "strength", 1.0),
                          In("set_cond_area", "COMBO", "set_cond_area", "default")),
        _COND, category="conditioning", display_name="Conditioning (Set Mask)"),
    "UpscaleModelLoader": NodeClass(
        "model.load_upscaler", (In("model_name", "COMBO", "name"),),
        (("UPSCALE_MODEL", "out"),), category="loaders", display_name="Load Upscale Model"),
    "ImageUpscaleWithModel": NodeClass(
        "image.upscale_with_model", (In("upscale_model", "UPSCALE_MODEL", "upscale_model"),
                                     In("image", "IMAGE", "image")),
        _IMAGE, category="image/upscaling", display_name="Upscale Image (using Model)"),
}

# The five seed custom nodes, as graphrt's macros (docs/design-notes.md). Their SAMPLER and
# REGIONAL_PROMPTS inputs come from native nodes (sample.sampler, region.prompt), since
# Impact's provider nodes are not translated.
_SPLIT_PAIR = (In("base_model", "MODEL", "base_model"),
               In("base_positive", "CONDITIONING", "base_positive"),
               In("base_negative", "CONDITIONING", "base_negative"),
               In("refiner_model", "MODEL", "refiner_model"),
               In("refiner_positive", "CONDITIONING", "refiner_positive"),
               In("refiner_negative", "CONDITIONING", "refiner_negative"))
_SEARGE = (In("noise_seed", "INT", "seed", 0), In("steps", "INT", "steps", 20),
           In("cfg", "FLOAT", "cfg", 7.0), In("sampler_name", "COMBO", "sampler", "ddim"),
           In("scheduler", "COMBO", "scheduler", "ddim_uniform"),
           In("base_ratio", "FLOAT", "base_ratio", 0.8))
_IMPACT_BOOL = {"label_on": "enabled", "label_off": "disabled"}

CLASSES.update({
    "SeargeSDXLSampler2": NodeClass(
        "sample.split",
        (*_SPLIT_PAIR, In("latent_image", "LATENT", "latent"), *_SEARGE,
         In("denoise", "FLOAT", "denoise", 1.0),
         In("refiner_prep_steps", "INT", "refiner_prep_steps", 0, optional=True),
         In("noise_offset", "INT", "noise_offset", 1, optional=True),
         In("refiner_strength", "FLOAT", "refiner_strength", 1.0, optional=True)),
        _LATENT, fixed=_COMFY_NOISE, category="Searge/_deprecated_/Sampling"),
    "SeargeSDXLImage2ImageSampler": NodeClass(
        "sample.img2img_refine",
        (*_SPLIT_PAIR, In("image", "IMAGE", "image"), In("vae", "VAE", "vae"), *_SEARGE,
         In("denoise", "FLOAT", "denoise", 0.25),
         In("upscale_model", "UPSCALE_MODEL", "upscale_model", optional=True),
         In("scaled_width", "INT", "scaled_width", 1536, optional=True),
         In("scaled_height", "INT", "scaled_height", 1536, optional=True),
         In("noise_offset", "INT", "noise_offset", 1, optional=True),
         In("refiner_strength", "FLOAT", "refiner_strength", 1.0, optional=True),
         In("softness", "FLOAT", "softness", 0.0, optional=True)),
        _IMAGE, fixed=_COMFY_NOISE, category="Searge/_deprecated_/Sampling"),
    "Unsampler": NodeClass(
        "sample.unsample",
        (In("model", "MODEL", "model"), In("steps", "INT", "steps", 20),
         In("end_at_step", "INT", "end_at_step", 0), In("cfg", "FLOAT", "cfg", 1.0),
         In("sampler_name", "COMBO", "sampler"), In("scheduler", "COMBO", "scheduler"),
         In("normalize", "COMBO", "normalize", "disable", _enable,
            options=("disable", "enable")),
         *_SAMPLING[1:], In("latent_image", "LATENT", "latent")),
        _LATENT, fixed=_COMFY_NOISE, category="sampling"),
    "RegionalSamplerAdvanced": NodeClass(
        "sample.regional",
        (In("add_noise", "BOOLEAN", "add_noise", True, extra=_IMPACT_BOOL),
         In("noise_seed", "INT", "seed", 0), In("steps", "INT", "steps", 20),
         In("start_at_step", "INT", "start", 0), In("end_at_step", "INT", "end", 10000),
         In("overlap_factor", "INT", "overlap_factor", 10),
         In("restore_latent", "BOOLEAN", "restore_latent", True, extra=_IMPACT_BOOL),
         In("return_with_leftover_noise", "BOOLEAN", "leftover_noise", False,
            extra=_IMPACT_BOOL),
         In("latent_image", "LATENT", "latent"),
         In("base_sampler", "KSAMPLER_ADVANCED", "base_sampler"),
         In("regional_prompts", "REGIONAL_PROMPTS", "regional_prompts"),
         In("additional_mode", "COMBO", "additional_mode", "ratio between"),
         In("additional_sampler", "COMBO", "additional_sampler", "AUTO"),
         In("additional_sigma_ratio", "FLOAT", "additional_sigma_ratio", 0.3)),
        _LATENT, fixed={**_COMFY_NOISE, "legacy": True}, category="ImpactPack/Regional"),
    "TwoAdvancedSamplersForMask": NodeClass(
        "sample.masked_pair",
        (In("seed", "INT", "seed", 0), In("steps", "INT", "steps", 20),
         In("denoise", "FLOAT", "denoise", 1.0), In("samples", "LATENT", "latent"),
         In("base_sampler", "KSAMPLER_ADVANCED", "base_sampler"),
         In("mask_sampler", "KSAMPLER_ADVANCED", "mask_sampler"), In("mask", "MASK", "mask"),
         In("overlap_factor", "INT", "overlap_factor", 10)),
        _LATENT, fixed=_COMFY_NOISE, category="ImpactPack/Sampler"),
})


def is_output_class(class_type: Any) -> bool:
    """True for a class whose node is one of a prompt's outputs (SaveImage, PreviewImage)."""
    cls = CLASSES.get(class_type) if isinstance(class_type, str) else None
    return cls is not None and cls.output_node


# The seed repositories' own names for the seed classes, and the spelling ComfyUI registers.
CLASSES["BNK_Unsampler"] = CLASSES["Unsampler"]  # ComfyUI_Noise registers the Unsampler so

# Classes kept in their own modules (defined after the names they import from here).
from .classes_basic import BASIC_CLASSES  # noqa: E402
from .classes_custom import CUSTOM_CLASSES  # noqa: E402
from .classes_impact import IMPACT_CLASSES  # noqa: E402
from .classes_models import MODEL_CLASSES  # noqa: E402
from .classes_noise import NOISE_CLASSES  # noqa: E402
from .classes_patches import PATCH_CLASSES  # noqa: E402
from .classes_searge import FOLDED_CLASSES, SEARGE_CLASSES  # noqa: E402

CLASSES.update(BASIC_CLASSES)
CLASSES.update(CUSTOM_CLASSES)
CLASSES.update(IMPACT_CLASSES)
CLASSES.update(MODEL_CLASSES)
CLASSES.update(PATCH_CLASSES)
CLASSES.update(NOISE_CLASSES)
CLASSES.update(SEARGE_CLASSES)
CLASSES["ConditioningAverage "] = CLASSES["ConditioningAverage"]  # ComfyUI's registered name


def any_class(name: str) -> NodeClass | None:
    """A class the converters know: one of `CLASSES`, or one worked out while translating
    (`FOLDED_CLASSES`, graphrt.compat.comfy.folding)."""
    return CLASSES.get(name) or FOLDED_CLASSES.get(name)
