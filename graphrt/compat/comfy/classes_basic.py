"""ComfyUI's basic latent, image, mask and conditioning classes, as class-table entries.

Input names, order, defaults and enum values are ComfyUI's (nodes.py, comfy_extras/
nodes_mask.py, comfy_extras/nodes_images.py); ranges live in each op's params. ComfyUI's
"step" is a widget hint it never enforces, so it is given here (`extra`) and not validated.
The lead merges `BASIC_CLASSES` into `CLASSES`.
"""

from __future__ import annotations

from graphrt.compat.comfy.classes import In, NodeClass, _annotated_name

_LATENT = (("LATENT", "out"),)
_IMAGE = (("IMAGE", "out"),)
_MASK = (("MASK", "out"),)
_COND = (("CONDITIONING", "out"),)
_STEP8 = {"step": 8}
_STEP1 = {"step": 1}
_LATENT_METHODS = ("nearest-exact", "bilinear", "area", "bicubic", "bislerp")
_IMAGE_METHODS = ("nearest-exact", "bilinear", "area", "bicubic", "lanczos")
_CROP = ("disabled", "center")


def _px(name: str, default: int, step: dict[str, int] = _STEP1, to: str | None = None) -> In:
    return In(name, "INT", to or name, default, extra=step)


_CONDITIONING = In("conditioning", "CONDITIONING", "conditioning")
_STEP001 = {"step": 0.01}


def _strength() -> In:
    return In("strength", "FLOAT", "strength", 1.0, extra=_STEP001)


BASIC_CLASSES: dict[str, NodeClass] = {
    # latent
    "LatentUpscale": NodeClass(
        "latent.upscale",
        (In("samples", "LATENT", "latent"),
         In("upscale_method", "COMBO", "method", "nearest-exact", options=_LATENT_METHODS),
         _px("width", 512, _STEP8), _px("height", 512, _STEP8),
         In("crop", "COMBO", "crop", "disabled", options=_CROP)),
        _LATENT, category="latent", display_name="Upscale Latent"),
    "LatentUpscaleBy": NodeClass(
        "latent.upscale_by",
        (In("samples", "LATENT", "latent"),
         In("upscale_method", "COMBO", "method", "nearest-exact", options=_LATENT_METHODS),
         In("scale_by", "FLOAT", "scale_by", 1.5)),
        _LATENT, category="latent", display_name="Upscale Latent By"),
    "LatentComposite": NodeClass(
        "latent.composite",
        (In("samples_to", "LATENT", "samples_to"), In("samples_from", "LATENT", "samples_from"),
         _px("x", 0, _STEP8), _px("y", 0, _STEP8), _px("feather", 0, _STEP8)),
        _LATENT, category="latent", display_name="Latent Composite"),
    "LatentBlend": NodeClass(
        "latent.blend",
        (In("samples1", "LATENT", "samples1"), In("samples2", "LATENT", "samples2"),
         In("blend_factor", "FLOAT", "blend_factor", 0.5)),
        _LATENT, category="_for_testing", display_name="Latent Blend"),
    "LatentFromBatch": NodeClass(
        "latent.from_batch",
        (In("samples", "LATENT", "latent"), In("batch_index", "INT", "batch_index", 0),
         In("length", "INT", "length", 1)),
        _LATENT, category="latent/batch", display_name="Latent From Batch"),
    "RepeatLatentBatch": NodeClass(
        "latent.repeat_batch",
        (In("samples", "LATENT", "latent"), In("amount", "INT", "amount", 1)),
        _LATENT, category="latent/batch", display_name="Repeat Latent Batch"),
    "VAEEncodeForInpaint": NodeClass(
        "latent.encode_for_inpaint",
        (In("pixels", "IMAGE", "image"), In("vae", "VAE", "vae"), In("mask", "MASK", "mask"),
         In("grow_mask_by", "INT", "grow_mask_by", 6, extra=_STEP1)),
        _LATENT, category="latent/inpaint", display_name="VAE Encode (for Inpainting)"),
    # image
    "LoadImageMask": NodeClass(
        "mask.load",
        (In("image", "COMBO", "name", convert=_annotated_name, extra={"image_upload": True}),
         In("channel", "COMBO", "channel", options=("alpha", "red", "green", "blue"))),
        _MASK, category="mask", display_name="Load Image (as Mask)"),
    "ImageScaleBy": NodeClass(
        "image.scale_by",
        (In("image", "IMAGE", "image"),
         In("upscale_method", "COMBO", "method", "nearest-exact", options=_IMAGE_METHODS),
         In("scale_by", "FLOAT", "scale_by", 1.0)),
        _IMAGE, category="image/upscaling", display_name="Upscale Image By"),
    "ImageInvert": NodeClass(
        "image.invert", (In("image", "IMAGE", "image"),), _IMAGE, category="image",
        display_name="Invert Image"),
    "ImageCrop": NodeClass(
        "image.crop",
        (In("image", "IMAGE", "image"), _px("width", 512), _px("height", 512), _px("x", 0),
         _px("y", 0)),
        _IMAGE, category="image/transform"),
    "EmptyImage": NodeClass(
        "image.empty",
        (_px("width", 512), _px("height", 512), In("batch_size", "INT", "batch", 1),
         In("color", "INT", "color", 0, extra={"step": 1, "display": "color"})),
        _IMAGE, category="image"),
    "ImagePadForOutpaint": NodeClass(
        "image.pad_for_outpaint",
        (In("image", "IMAGE", "image"), _px("left", 0, _STEP8), _px("top", 0, _STEP8),
         _px("right", 0, _STEP8), _px("bottom", 0, _STEP8), _px("feathering", 40)),
        (("IMAGE", "image"), ("MASK", "mask")), category="image",
        display_name="Pad Image for Outpainting"),
    # mask
    "InvertMask": NodeClass("mask.invert", (In("mask", "MASK", "mask"),), _MASK,
                            category="mask"),
    "GrowMask": NodeClass(
        "mask.grow_comfy",
        (In("mask", "MASK", "mask"), _px("expand", 0),
         In("tapered_corners", "BOOLEAN", "tapered_corners", True)),
        _MASK, category="mask"),
    "SolidMask": NodeClass(
        "mask.solid",
        (In("value", "FLOAT", "value", 1.0), _px("width", 512), _px("height", 512)),
        _MASK, category="mask"),
    "FeatherMask": NodeClass(
        "mask.feather",
        (In("mask", "MASK", "mask"), _px("left", 0), _px("top", 0), _px("right", 0),
         _px("bottom", 0)),
        _MASK, category="mask"),
    "MaskComposite": NodeClass(
        "mask.composite",
        (In("destination", "MASK", "destination"), In("source", "MASK", "source"),
         _px("x", 0), _px("y", 0),
         In("operation", "COMBO", "operation",
            options=("multiply", "add", "subtract", "and", "or", "xor"))),
        _MASK, category="mask"),
    "ImageToMask": NodeClass(
        "mask.from_image",
        (In("image", "IMAGE", "image"),
         In("channel", "COMBO", "channel", options=("red", "green", "blue", "alpha"))),
        _MASK, category="mask", display_name="Convert Image to Mask"),
    "MaskToImage": NodeClass(
        "mask.to_image", (In("mask", "MASK", "mask"),), _IMAGE, category="mask",
        display_name="Convert Mask to Image"),
    "ThresholdMask": NodeClass(
        "mask.threshold", (In("mask", "MASK", "mask"), In("value", "FLOAT", "value", 0.5)),
        _MASK, category="mask"),
    # conditioning
    "ConditioningZeroOut": NodeClass(
        "cond.zero_out", (In("conditioning", "CONDITIONING", "conditioning"),), _COND,
        category="advanced/conditioning"),
    "ConditioningAverage": NodeClass(
        "cond.average",
        (In("conditioning_to", "CONDITIONING", "conditioning_to"),
         In("conditioning_from", "CONDITIONING", "conditioning_from"),
         In("conditioning_to_strength", "FLOAT", "conditioning_to_strength", 1.0)),
        _COND, category="conditioning"),
    "ConditioningConcat": NodeClass(
        "cond.concat",
        (In("conditioning_to", "CONDITIONING", "conditioning_to"),
         In("conditioning_from", "CONDITIONING", "conditioning_from")),
        _COND, category="conditioning", display_name="Conditioning (Concat)"),
    "ConditioningSetArea": NodeClass(
        "cond.set_area",
        (_CONDITIONING, _px("width", 64, _STEP8), _px("height", 64, _STEP8),
         _px("x", 0, _STEP8), _px("y", 0, _STEP8), _strength()),
        _COND, category="conditioning", display_name="Conditioning (Set Area)"),
    "ConditioningSetAreaPercentage": NodeClass(
        "cond.set_area_percentage",
        (_CONDITIONING, *(In(n, "FLOAT", n, d, extra=_STEP001)
                          for n, d in (("width", 1.0), ("height", 1.0), ("x", 0.0),
                                       ("y", 0.0))), _strength()),
        _COND, category="conditioning",
        display_name="Conditioning (Set Area with Percentage)"),
    "ConditioningSetAreaStrength": NodeClass(
        "cond.set_area_strength", (_CONDITIONING, _strength()), _COND,
        category="conditioning"),
    "ConditioningSetTimestepRange": NodeClass(
        "cond.set_timestep_range",
        (_CONDITIONING, In("start", "FLOAT", "start", 0.0, extra={"step": 0.001}),
         In("end", "FLOAT", "end", 1.0, extra={"step": 0.001})),
        _COND, category="advanced/conditioning"),
}
