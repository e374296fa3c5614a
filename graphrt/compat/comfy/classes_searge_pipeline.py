"""SeargeSDXL's v3 "pipeline" classes (its searge_sdxl_sampler_node.py at 0fac5e2, the commit
of workflow/Searge-SDXL-Reborn-v3_3.json; docs/comfyui-workflows.md). Names, input order,
defaults and enum strings are Searge's.

- `SeargeInput1`–`7` pack their widget values into a parameters dict, the processor derives
  values from it (`_process`), `SeargeOutput1`–`7` and `SeargeGenerated1` unpack it, and the
  muxers pick one of their inputs by an int: all are value classes, worked out while
  translating (graphrt.compat.comfy.folding). A muxer's selected input is a link
  (`folding.Link`), so the muxer becomes a redirect of it; so are the image and mask that
  `SeargeInput1` carries.
- The loaders and `SeargeImageSave` are composites: the CheckpointLoaderSimple, VAELoader,
  UpscaleModelLoader, LoraLoader or SaveImage node they call, with the file names the model
  selector's outputs give.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from .classes import In, NodeClass

_UI = "Searge/UI/"
_INT_MAX = 0xFFFFFFFFFFFFFFFF
STATES = ("disabled", "enabled")
SAVE_TO = ("output folder", "input folder")
REFINER_INTENSITY = ("hard", "soft")
HRF_SEED_OFFSET = ("same", "distinct")
OPERATION_MODE = ("text to image", "image to image", "inpainting")
STYLE_TEMPLATE = ("none", "from preprocessor", "test")
# prompt style → (prompt_style_selector, prompt_style_group); "3 prompts G+L-N" and any other
# value give (0, 0) and clear the style prompts
PROMPT_STYLES = {"simple": (0, 0), "3 prompts G+L-N": (0, 0), "subject focus": (1, 0),
                 "style focus": (2, 0), "weighted": (3, 0), "overlay": (4, 0),
                 "subject - style": (0, 1), "style - subject": (1, 1), "style only": (2, 1),
                 "weighted - overlay": (3, 1), "overlay - weighted": (4, 1)}
_MULTILINE = {"multiline": True}


def _w(name: str, kind: str, default: Any, **extra: Any) -> In:
    return In(name, kind, name, default, extra=extra)


def _combo(name: str, options: tuple[str, ...], default: str | None = None) -> In:
    return In(name, "COMBO", name, options[0] if default is None else default, options=options)


def _link(name: str, kind: str, optional: bool = False) -> In:
    return In(name, kind, name, optional=optional)


_INPUTS = _link("inputs", "PARAMETER_INPUTS", optional=True)
_PARAMETERS = _link("parameters", "PARAMETERS")


def _packer(widgets: tuple[In, ...], links: tuple[In, ...] = ()) -> NodeClass:
    """SeargeInputN: a copy of the `inputs` dict (or a new one) with the widget values and
    the optional links (None when unset) under their names."""
    names = [i.name for i in (*widgets, *links)]

    def mux(values: dict[str, Any]) -> tuple[Any, ...]:
        parameters = dict(values.get("inputs") or {})
        parameters.update({name: values.get(name) for name in names})
        return (parameters,)

    return NodeClass("", (*widgets, _INPUTS, *links), (("PARAMETER_INPUTS", "out0"),),
                     category=_UI + "Inputs", compute=mux)


def _unpacker(key: str, outputs: tuple[tuple[str, str], ...], group: str = "Outputs"
              ) -> NodeClass:
    """SeargeOutputN / SeargeGenerated1: the dict itself, then its values named in
    `outputs` (a missing one is an error, as Searge's KeyError is)."""
    kind = "MODEL_NAMES" if key == "model_names" else "PARAMETERS"

    def demux(values: dict[str, Any]) -> tuple[Any, ...]:
        parameters = values[key]
        return (parameters, *(parameters[name] for name, _ in outputs))

    ports = ((kind, "out0"), *((t, f"out{i + 1}") for i, (_, t) in enumerate(outputs)))
    return NodeClass("", (_link(key, kind),), ports, category=_UI + group, compute=demux)


def _process(values: dict[str, Any]) -> tuple[Any, ...]:
    """SeargeParameterProcessor: the values the packed widgets imply, in Searge's order (a
    later rule sees what an earlier one set)."""
    p = dict(values.get("inputs") or {})
    if p["denoise"] is None:
        p["denoise"] = 1.0
    if p["refiner_intensity"] is not None:
        p["noise_offset"] = 1 if p["refiner_intensity"] == "soft" else 0
    if p["hires_fix"] == "disabled":
        p["hrf_steps"] = 0
    if p["hrf_intensity"] is not None:
        p["hrf_noise_offset"] = 1 if p["hrf_intensity"] == "soft" else 0
    if p["hrf_seed_offset"] is not None:
        seed = p["seed"] if p["seed"] is not None else 0
        p["hrf_seed"] = seed + 3 if p["hrf_seed_offset"] == "distinct" else seed
    if p["style_template"] == "test":  # both offsets from the HRF one, as Searge's code does
        if p["noise_offset"] is not None:
            p["noise_offset"] = 1 - p["hrf_noise_offset"]
        if p["hrf_noise_offset"] is not None:
            p["hrf_noise_offset"] = 1 - p["hrf_noise_offset"]
    mode = p["operation_mode"]
    if mode is not None:
        p["operation_selector"] = OPERATION_MODE.index(mode) if mode in OPERATION_MODE[1:] \
            else 0
        if mode == "inpainting":
            p["hrf_steps"] = 0  # inpainting has no hires fix
        elif mode != "image to image":
            p["denoise"] = 1.0
    style = p["prompt_style"]
    if style is not None:
        p["prompt_style_selector"], p["prompt_style_group"] = PROMPT_STYLES.get(style, (0, 0))
        if style == "simple":
            p["secondary_prompt"] = p["main_prompt"]
        if style in ("simple", "3 prompts G+L-N") or style not in PROMPT_STYLES:
            p["style_prompt"] = p["negative_style"] = ""
    if p["save_image"] is not None:
        if p["save_image"] == "disabled":  # nothing saved: neither upscaled nor hires-fixed
            p["save_upscaled_image"] = p["hires_fix"] = "disabled"
        elif p["save_directory"] == "input folder":
            p["hires_fix"] = "enabled"
    return (p,)


def _muxer(kind: str, n: int) -> NodeClass:
    """SeargeLatentMuxer3 / SeargeConditioningMuxerN: input k for selector k in 1..n-1, else
    input0."""
    def mux(values: dict[str, Any]) -> tuple[Any, ...]:
        selector = values["input_selector"]
        return (values.get(f"input{selector}" if 1 <= selector < n else "input0"),)

    return NodeClass("", (*(_link(f"input{i}", kind) for i in range(n)),
                          _w("input_selector", "INT", 0, min=0, max=n - 1)),
                     ((kind, "out0"),), category="Searge/FlowControl", compute=mux)


def _one(class_type: str, inputs: dict[str, str], outputs: int = 1) -> Any:
    """A composite of one API node: `class_type` (keeping the node's id and its `outputs`)
    with each of its inputs taken from the Searge input named beside it."""
    def compose(node: str, v: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
        node_inputs = {name: v[searge] for name, searge in inputs.items()}
        return ({node: {"class_type": class_type, "inputs": node_inputs}},
                [[node, i] for i in range(outputs)])
    return compose


def _save(node: str, v: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    """SeargeImageSave: nothing when its state is "disabled", else a SaveImage whose prefix
    has `%date%` replaced by today's date (yyyy-mm-dd), as Searge does when it saves. Saving
    to the input folder is refused: graphrt writes outputs only to the output folder."""
    if v["state"] == "disabled":
        return {}, []
    if v["save_to"] == "input folder":
        raise ValueError("save_to 'input folder' writes into ComfyUI's input folder, which "
                         "graphrt does not do")
    prefix = str(v["filename_prefix"]).replace("%date%", datetime.now().strftime("%Y-%m-%d"))
    return {node: {"class_type": "SaveImage", "inputs": {
        "images": v["images"], "filename_prefix": prefix}}}, []


def _loader(kind: str, name: str, outputs: tuple[str, ...], compose: Any) -> NodeClass:
    return NodeClass("", (_link(name, kind),), tuple((t, f"out{i}") for i, t in
                                                     enumerate(outputs)),
                     category="Searge/Files", compose=compose)


_TEXTS = tuple(_w(n, "STRING", "", **_MULTILINE) for n in (
    "main_prompt", "secondary_prompt", "style_prompt", "negative_prompt", "negative_style"))
_FILES = ("base_model", "refiner_model", "vae_model", "main_upscale_model",
          "support_upscale_model", "lora_model")
_P = "PARAMETERS"

_CLASSES: dict[str, NodeClass] = {
    "SeargeInput1": _packer(_TEXTS, (_link("image", "IMAGE", True),
                                     _link("mask", "MASK", True))),
    "SeargeInput2": _packer((
        _w("seed", "INT", 0, min=0, max=_INT_MAX), _w("image_width", "INT", 1024, step=8),
        _w("image_height", "INT", 1024, step=8), _w("steps", "INT", 20, min=0, max=200),
        _w("cfg", "FLOAT", 7.0, step=0.5), In("sampler_name", "COMBO", "sampler_name", "ddim"),
        In("scheduler", "COMBO", "scheduler", "ddim_uniform"),
        _combo("save_image", STATES, "enabled"), _combo("save_directory", SAVE_TO))),
    "SeargeInput3": _packer((
        _w("base_ratio", "FLOAT", 0.8, step=0.01), _w("refiner_strength", "FLOAT", 1.0,
                                                       step=0.05),
        _combo("refiner_intensity", REFINER_INTENSITY, "soft"),
        _w("precondition_steps", "INT", 0, min=0, max=10),
        _w("batch_size", "INT", 1, min=1, max=4),
        _w("upscale_resolution_factor", "FLOAT", 2.0, step=0.25),
        _combo("save_upscaled_image", STATES, "enabled")),
        (In("denoise", "FLOAT", "denoise", 1.0, optional=True, extra={"step": 0.01}),)),
    "SeargeInput4": NodeClass(
        "", (*(In(n, "COMBO", n) for n in _FILES),
             _link("model_settings", "MODEL_SETTINGS", optional=True)),
        (("MODEL_NAMES", "out0"),), category=_UI + "Inputs",
        compute=lambda v: ({**(v.get("model_settings") or {}), **{n: v[n] for n in _FILES}},)),
    "SeargeInput5": _packer((
        _w("base_conditioning_scale", "FLOAT", 2.0, step=0.25),
        _w("refiner_conditioning_scale", "FLOAT", 2.0, step=0.25),
        _w("style_prompt_power", "FLOAT", 0.33, step=0.01),
        _w("negative_style_power", "FLOAT", 0.67, step=0.01),
        _combo("style_template", STYLE_TEMPLATE))),
    "SeargeInput6": _packer((
        _combo("hires_fix", STATES, "enabled"), _w("hrf_steps", "INT", 0, min=0, max=100),
        _w("hrf_denoise", "FLOAT", 0.1, step=0.01),
        _w("hrf_upscale_factor", "FLOAT", 1.5, step=0.25),
        _combo("hrf_intensity", REFINER_INTENSITY, "soft"),
        _combo("hrf_seed_offset", HRF_SEED_OFFSET, "distinct"),
        _w("hrf_smoothness", "FLOAT", 0.0, step=0.05))),
    "SeargeInput7": _packer((
        _w("lora_strength", "FLOAT", 0.2, step=0.05), _combo("operation_mode", OPERATION_MODE),
        _combo("prompt_style", tuple(PROMPT_STYLES)))),
    "SeargeOutput1": _unpacker("parameters", (
        *((i.name, "STRING") for i in _TEXTS), ("image", "IMAGE"), ("mask", "MASK"))),
    "SeargeOutput2": _unpacker("parameters", (
        ("seed", "INT"), ("image_width", "INT"), ("image_height", "INT"), ("steps", "INT"),
        ("cfg", "FLOAT"), ("sampler_name", "SAMPLER_NAME"), ("scheduler", "SCHEDULER_NAME"),
        ("save_image", "ENABLE_STATE"), ("save_directory", "SAVE_FOLDER"))),
    "SeargeOutput3": _unpacker("parameters", (
        ("denoise", "FLOAT"), ("base_ratio", "FLOAT"), ("refiner_strength", "FLOAT"),
        ("noise_offset", "INT"), ("precondition_steps", "INT"), ("batch_size", "INT"),
        ("upscale_resolution_factor", "FLOAT"), ("save_upscaled_image", "ENABLE_STATE"))),
    "SeargeOutput4": _unpacker("model_names", (
        ("base_model", "CHECKPOINT_NAME"), ("refiner_model", "CHECKPOINT_NAME"),
        ("vae_model", "VAE_NAME"), ("main_upscale_model", "UPSCALER_NAME"),
        ("support_upscale_model", "UPSCALER_NAME"), ("lora_model", "LORA_NAME"))),
    "SeargeOutput5": _unpacker("parameters", tuple((n, "FLOAT") for n in (
        "base_conditioning_scale", "refiner_conditioning_scale", "style_prompt_power",
        "negative_style_power"))),
    "SeargeOutput6": _unpacker("parameters", (
        ("hrf_steps", "INT"), ("hrf_denoise", "FLOAT"), ("hrf_upscale_factor", "FLOAT"),
        ("hrf_noise_offset", "INT"), ("hrf_seed", "INT"), ("hires_fix", "ENABLE_STATE"),
        ("hrf_smoothness", "FLOAT"))),
    "SeargeOutput7": _unpacker("parameters", (("lora_strength", "FLOAT"),)),
    "SeargeGenerated1": _unpacker("parameters", (
        ("operation_selector", "INT"), ("prompt_style_selector", "INT"),
        ("prompt_style_group", "INT")), group="Generated"),
    "SeargeParameterProcessor": NodeClass(
        "", (_link("inputs", "PARAMETER_INPUTS"),), ((_P, "out0"),), category="Searge/UI",
        compute=_process),
    # Searge's style preprocessor was unfinished: it passes its inputs on unchanged
    "SeargeStylePreprocessor": NodeClass(
        "", (_link("inputs", "PARAMETER_INPUTS"), _w("active_style_name", "STRING", ""),
             _w("style_definitions", "STRING", "[unfinished work in progress]",
                **_MULTILINE)),
        (("PARAMETER_INPUTS", "out0"),), category="Searge/UI", compute=lambda v: (v["inputs"],)),
    "SeargeLatentMuxer3": _muxer("LATENT", 3),
    "SeargeConditioningMuxer2": _muxer("CONDITIONING", 2),
    "SeargeConditioningMuxer5": _muxer("CONDITIONING", 5),
    "SeargeCheckpointLoader": _loader(
        "CHECKPOINT_NAME", "ckpt_name", ("MODEL", "CLIP", "VAE"),
        _one("CheckpointLoaderSimple", {"ckpt_name": "ckpt_name"}, 3)),
    "SeargeVAELoader": _loader("VAE_NAME", "vae_name", ("VAE",),
                               _one("VAELoader", {"vae_name": "vae_name"})),
    "SeargeUpscaleModelLoader": _loader(
        "UPSCALER_NAME", "upscaler_name", ("UPSCALE_MODEL",),
        _one("UpscaleModelLoader", {"model_name": "upscaler_name"})),
    "SeargeLoraLoader": NodeClass(
        "", (_link("model", "MODEL"), _link("clip", "CLIP"), _link("lora_name", "LORA_NAME"),
             _w("strength_model", "FLOAT", 1.0, min=-10.0, max=10.0, step=0.01),
             _w("strength_clip", "FLOAT", 1.0, min=-10.0, max=10.0, step=0.01)),
        (("MODEL", "out0"), ("CLIP", "out1")), category="Searge/Files",
        compose=_one("LoraLoader", {n: n for n in ("model", "clip", "lora_name",
                                                   "strength_model", "strength_clip")}, 2)),
    "SeargeImageSave": NodeClass(
        "", (_link("images", "IMAGE"), _w("filename_prefix", "STRING", "SeargeSDXL-%date%/Image"),
             _link("state", "ENABLE_STATE"), _link("save_to", "SAVE_FOLDER")),
        category="Searge/Files", output_node=True, compose=_save),
}
_PARTS = ("Prompts", "Generation Parameters", "Advanced Parameters", "Model Names",
          "Prompt Processing", "HiResFix Parameters", "Misc Parameters")
# SeargeSDXL's display names, and its categories under "Searge/_deprecated_/" as it
# registers these classes today (modules/_legacy.py)
_TITLES = {
    **{f"Searge{kind}{i + 1}": part for i, part in enumerate(_PARTS)
       for kind in ("Input", "Output")},
    "SeargeGenerated1": "Flow Control Parameters", "SeargeParameterProcessor":
    "Parameter Processor", "SeargeStylePreprocessor": "Style Preprocessor (wip)",
    "SeargeLatentMuxer3": "3-Way Muxer for Latents",
    "SeargeConditioningMuxer2": "2-Way Muxer for Conditioning",
    "SeargeConditioningMuxer5": "5-Way Muxer for Conditioning",
    "SeargeCheckpointLoader": "Checkpoint Loader (Searge)",
    "SeargeVAELoader": "VAE Loader (Searge)",
    "SeargeUpscaleModelLoader": "Upscale Model Loader (Searge)",
    "SeargeLoraLoader": "Lora Loader (Searge)", "SeargeImageSave": "Save Image (Searge)"}
PIPELINE_CLASSES: dict[str, NodeClass] = {
    name: replace(cls, display_name=_TITLES[name],
                  category="Searge/_deprecated_/" + cls.category.removeprefix("Searge/"))
    for name, cls in _CLASSES.items()}
# widgets whose choices are another class's (/object_info lists them for the editor)
CHOICES_FROM = {
    ("SeargeInput2", "sampler_name"): ("KSampler", "sampler_name"),
    ("SeargeInput2", "scheduler"): ("KSampler", "scheduler"),
    **{("SeargeInput4", n): ("CheckpointLoaderSimple", "ckpt_name")
       for n in ("base_model", "refiner_model")},
    ("SeargeInput4", "vae_model"): ("VAELoader", "vae_name"),
    **{("SeargeInput4", n): ("UpscaleModelLoader", "model_name")
       for n in ("main_upscale_model", "support_upscale_model")},
    ("SeargeInput4", "lora_model"): ("LoraLoader", "lora_name")}
