"""SeargeSDXL's v3 pipeline classes (classes_searge_pipeline.py): Searge's inputs, order and
defaults; what an input → processor → output chain gives for given widget values (worked by
hand from Searge's code at 0fac5e2, below); muxers becoming redirects of their selected input;
the loaders and the image saver becoming the native classes they call."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from graphrt import default_registry
from graphrt.compat.comfy.classes import FOLDED_CLASSES, REQUIRED
from graphrt.compat.comfy.folding import fold
from graphrt.compat.comfy.object_info import object_info
from graphrt.compat.comfy.translate import translate
from graphrt.compat.comfy.ui import to_api
from graphrt.core.errors import Code
from graphrt.core.paths import Folders

# class → inputs in order with defaults (None: a link), from SeargeSDXL 0fac5e2
# searge_sdxl_sampler_node.py
TEXTS = [(n, "") for n in ("main_prompt", "secondary_prompt", "style_prompt",
                           "negative_prompt", "negative_style")]
EXPECTED: dict[str, list[tuple[str, Any]]] = {
    "SeargeInput1": [*TEXTS, ("inputs", None), ("image", None), ("mask", None)],
    "SeargeInput2": [("seed", 0), ("image_width", 1024), ("image_height", 1024), ("steps", 20),
                     ("cfg", 7.0), ("sampler_name", "ddim"), ("scheduler", "ddim_uniform"),
                     ("save_image", "enabled"), ("save_directory", "output folder"),
                     ("inputs", None)],
    "SeargeInput3": [("base_ratio", 0.8), ("refiner_strength", 1.0),
                     ("refiner_intensity", "soft"), ("precondition_steps", 0),
                     ("batch_size", 1), ("upscale_resolution_factor", 2.0),
                     ("save_upscaled_image", "enabled"), ("inputs", None), ("denoise", 1.0)],
    "SeargeInput4": [("base_model", REQUIRED), ("refiner_model", REQUIRED),
                     ("vae_model", REQUIRED), ("main_upscale_model", REQUIRED),
                     ("support_upscale_model", REQUIRED), ("lora_model", REQUIRED),
                     ("model_settings", None)],
    "SeargeInput5": [("base_conditioning_scale", 2.0), ("refiner_conditioning_scale", 2.0),
                     ("style_prompt_power", 0.33), ("negative_style_power", 0.67),
                     ("style_template", "none"), ("inputs", None)],
    "SeargeInput6": [("hires_fix", "enabled"), ("hrf_steps", 0), ("hrf_denoise", 0.1),
                     ("hrf_upscale_factor", 1.5), ("hrf_intensity", "soft"),
                     ("hrf_seed_offset", "distinct"), ("hrf_smoothness", 0.0),
                     ("inputs", None)],
    "SeargeInput7": [("lora_strength", 0.2), ("operation_mode", "text to image"),
                     ("prompt_style", "simple"), ("inputs", None)],
    "SeargeParameterProcessor": [("inputs", None)],
    "SeargeStylePreprocessor": [("inputs", None), ("active_style_name", ""),
                                ("style_definitions", "[unfinished work in progress]")],
    "SeargeLatentMuxer3": [("input0", None), ("input1", None), ("input2", None),
                           ("input_selector", 0)],
    "SeargeConditioningMuxer2": [("input0", None), ("input1", None), ("input_selector", 0)],
    "SeargeConditioningMuxer5": [*((f"input{i}", None) for i in range(5)),
                                 ("input_selector", 0)],
    "SeargeCheckpointLoader": [("ckpt_name", None)],
    "SeargeVAELoader": [("vae_name", None)],
    "SeargeUpscaleModelLoader": [("upscaler_name", None)],
    "SeargeLoraLoader": [("model", None), ("clip", None), ("lora_name", None),
                         ("strength_model", 1.0), ("strength_clip", 1.0)],
    "SeargeImageSave": [("images", None), ("filename_prefix", "SeargeSDXL-%date%/Image"),
                        ("state", None), ("save_to", None)],
}
OUTPUTS = {"SeargeOutput1": 8, "SeargeOutput2": 10, "SeargeOutput3": 9, "SeargeOutput4": 7,
           "SeargeOutput5": 5, "SeargeOutput6": 8, "SeargeOutput7": 2, "SeargeGenerated1": 4}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inputs_are_searges(name: str) -> None:
    got = [(i.name, None if i.is_link else i.default) for i in FOLDED_CLASSES[name].inputs]
    assert got == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_outputs_unpack_the_dict_then_its_values(name: str) -> None:
    cls = FOLDED_CLASSES[name]
    assert [i.name for i in cls.inputs] == ["model_names" if name == "SeargeOutput4"
                                            else "parameters"]
    assert len(cls.outputs) == OUTPUTS[name]


def pipeline(*, input2: dict[str, Any] | None = None, input3: dict[str, Any] | None = None,
             input6: dict[str, Any] | None = None, input7: dict[str, Any] | None = None,
             texts: dict[str, str] | None = None, input5: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """Input1 → … → Input7 → processor, and one node of every output class reading it: the
    API prompt of Searge's Reborn workflow's parameter part, widget values overridable."""
    chain = [("i1", "SeargeInput1", {**dict(TEXTS), "main_prompt": "a cat",
                                     "secondary_prompt": "cat", "style_prompt": "oil",
                                     "negative_prompt": "noise", "negative_style": "photo",
                                     **(texts or {}), "image": ["img", 0], "mask": ["img", 1]}),
             ("i2", "SeargeInput2", {"seed": 100, "image_width": 1024, "image_height": 768,
                                     "steps": 30, "cfg": 7, "sampler_name": "dpmpp_2m",
                                     "scheduler": "karras", "save_image": "enabled",
                                     "save_directory": "output folder", **(input2 or {})}),
             ("i3", "SeargeInput3", {"base_ratio": 0.8, "refiner_strength": 0.75,
                                     "refiner_intensity": "hard", "precondition_steps": 0,
                                     "batch_size": 1, "upscale_resolution_factor": 2,
                                     "save_upscaled_image": "enabled", "denoise": 0.5,
                                     **(input3 or {})}),
             ("i5", "SeargeInput5", {"base_conditioning_scale": 2, "style_template": "none",
                                     "refiner_conditioning_scale": 2, **(input5 or {}),
                                     "style_prompt_power": 0.333,
                                     "negative_style_power": 0.667}),
             ("i6", "SeargeInput6", {"hires_fix": "enabled", "hrf_steps": 25,
                                     "hrf_denoise": 0.25, "hrf_upscale_factor": 1.5,
                                     "hrf_intensity": "hard", "hrf_seed_offset": "distinct",
                                     "hrf_smoothness": 0.5, **(input6 or {})}),
             ("i7", "SeargeInput7", {"lora_strength": 0, "operation_mode": "text to image",
                                     "prompt_style": "subject focus", **(input7 or {})})]
    for _, _, inputs in chain:  # None: the widget left out
        for name in [k for k, v in inputs.items() if v is None]:
            del inputs[name]
    prompt: dict[str, Any] = {"img": {"class_type": "LoadImage",
                                      "inputs": {"image": "example.png"}}}
    previous = None
    for node, cls, inputs in chain:
        prompt[node] = {"class_type": cls, "inputs": {
            **inputs, **({"inputs": [previous, 0]} if previous else {})}}
        previous = node
    prompt["pp"] = {"class_type": "SeargeParameterProcessor", "inputs": {"inputs": ["i7", 0]}}
    for cls in OUTPUTS:
        if cls != "SeargeOutput4":
            prompt[cls] = {"class_type": cls, "inputs": {"parameters": ["pp", 0]}}
    # one consumer per output value: a PrimitiveNode-like sink taking each as a widget
    prompt["sink"] = {"class_type": "Sink", "inputs": {
        f"{cls}.{i}": [cls, i] for cls, n in OUTPUTS.items() if cls != "SeargeOutput4"
        for i in range(1, n)}}
    return prompt


def values(prompt: dict[str, Any]) -> dict[str, Any]:
    """What each output of each output class gave (by "<class>.<slot>")."""
    folded, issues = fold(prompt)
    assert issues == []
    return folded["sink"]["inputs"]  # type: ignore[no-any-return]


def test_the_reborn_defaults_give_these_values() -> None:
    """Searge's Reborn v3.3 settings: text to image, subject focus, hires fix enabled."""
    got = values(pipeline())
    assert got["SeargeOutput1.1"] == "a cat" and got["SeargeOutput1.2"] == "cat"
    assert got["SeargeOutput1.6"] == ["img", 0] and got["SeargeOutput1.7"] == ["img", 1]
    assert [got[f"SeargeOutput2.{i}"] for i in range(1, 10)] == [
        100, 1024, 768, 30, 7.0, "dpmpp_2m", "karras", "enabled", "output folder"]
    # denoise 1.0 in text to image (Input3's 0.5 is overridden); "hard" → noise_offset 0
    assert [got[f"SeargeOutput3.{i}"] for i in range(1, 9)] == [
        1.0, 0.8, 0.75, 0, 0, 1, 2.0, "enabled"]
    assert [got[f"SeargeOutput5.{i}"] for i in range(1, 5)] == [2.0, 2.0, 0.333, 0.667]
    # hrf_seed = seed + 3 ("distinct"), hrf_noise_offset 0 ("hard")
    assert [got[f"SeargeOutput6.{i}"] for i in range(1, 8)] == [
        25, 0.25, 1.5, 0, 103, "enabled", 0.5]
    assert got["SeargeOutput7.1"] == 0.0
    assert [got[f"SeargeGenerated1.{i}"] for i in range(1, 4)] == [0, 1, 0]


@pytest.mark.parametrize(("settings", "expected"), [
    # image to image keeps Input3's denoise; inpainting also zeroes the hires-fix steps
    ({"input7": {"operation_mode": "image to image"}},
     {"SeargeGenerated1.1": 1, "SeargeOutput3.1": 0.5, "SeargeOutput6.1": 25}),
    ({"input7": {"operation_mode": "inpainting"}},
     {"SeargeGenerated1.1": 2, "SeargeOutput3.1": 0.5, "SeargeOutput6.1": 0}),
    # no denoise widget: None, made 1.0 by the processor
    ({"input7": {"operation_mode": "image to image"}, "input3": {"denoise": None}},
     {"SeargeOutput3.1": 1.0}),
    # "soft" intensities give offset 1; "same" keeps the seed
    ({"input3": {"refiner_intensity": "soft"},
      "input6": {"hrf_intensity": "soft", "hrf_seed_offset": "same"}},
     {"SeargeOutput3.4": 1, "SeargeOutput6.4": 1, "SeargeOutput6.5": 100}),
    # hires fix disabled: no hires-fix steps
    ({"input6": {"hires_fix": "disabled"}},
     {"SeargeOutput6.1": 0, "SeargeOutput6.6": "disabled"}),
    # style template "test": both offsets from the HRF one (hard → 0): 1 - 0 twice
    ({"input5": {"style_template": "test"}}, {"SeargeOutput3.4": 1, "SeargeOutput6.4": 1}),
    # saving disabled: no upscaled or hires-fixed save either, the hires-fix steps kept
    ({"input2": {"save_image": "disabled"}},
     {"SeargeOutput3.8": "disabled", "SeargeOutput6.6": "disabled", "SeargeOutput6.1": 25}),
    # saving to the input folder forces the hires-fixed save on
    ({"input2": {"save_directory": "input folder"}, "input6": {"hires_fix": "disabled"}},
     {"SeargeOutput6.6": "enabled", "SeargeOutput6.1": 0}),
    # prompt styles: simple copies the main prompt and clears the style prompts
    ({"input7": {"prompt_style": "simple"}},
     {"SeargeOutput1.2": "a cat", "SeargeOutput1.3": "", "SeargeOutput1.5": "",
      "SeargeGenerated1.2": 0, "SeargeGenerated1.3": 0}),
    ({"input7": {"prompt_style": "3 prompts G+L-N"}},
     {"SeargeOutput1.2": "cat", "SeargeOutput1.3": "", "SeargeOutput1.5": "",
      "SeargeGenerated1.2": 0, "SeargeGenerated1.3": 0}),
    ({"input7": {"prompt_style": "style only"}},
     {"SeargeOutput1.3": "oil", "SeargeGenerated1.2": 2, "SeargeGenerated1.3": 1}),
    ({"input7": {"prompt_style": "overlay - weighted"}},
     {"SeargeGenerated1.2": 4, "SeargeGenerated1.3": 1}),
])
def test_the_processor_derives_values_as_searge(settings: dict[str, Any],
                                                expected: dict[str, Any]) -> None:
    got = values(pipeline(**settings))
    assert {k: got[k] for k in expected} == expected


def test_a_chain_missing_an_input_class_is_refused_by_node() -> None:
    prompt = pipeline()
    prompt["i7"]["inputs"]["inputs"] = ["i5", 0]  # Input6 left out: no hires_fix key
    folded, issues = fold(prompt)
    assert folded is prompt
    assert [(i.code, i.node) for i in issues] == [(Code.INVALID_PARAM, "pp")]
    assert "'hires_fix'" in issues[0].message


def muxed(selector: int, kind: str = "SeargeConditioningMuxer5") -> Any:
    n = {"SeargeConditioningMuxer5": 5, "SeargeConditioningMuxer2": 2,
         "SeargeLatentMuxer3": 3}[kind]
    prompt = {"k": {"class_type": "SeargeIntegerConstant", "inputs": {"value": selector}},
              "mux": {"class_type": kind, "inputs": {
                  **{f"input{i}": [f"c{i}", 0] for i in range(n)}, "input_selector": ["k", 0]}},
              "use": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["mux", 0]}}}
    folded, issues = fold(prompt)
    assert issues == []
    assert "mux" not in folded
    return folded["use"]["inputs"]["conditioning"]


@pytest.mark.parametrize(("kind", "selector", "picked"), [
    ("SeargeConditioningMuxer5", 0, "c0"), ("SeargeConditioningMuxer5", 3, "c3"),
    ("SeargeConditioningMuxer5", 4, "c4"), ("SeargeConditioningMuxer5", 7, "c0"),
    ("SeargeConditioningMuxer2", 1, "c1"), ("SeargeConditioningMuxer2", 2, "c0"),
    ("SeargeLatentMuxer3", 2, "c2"), ("SeargeLatentMuxer3", 1, "c1")])
def test_a_muxer_is_a_redirect_of_its_selected_input(kind: str, selector: int,
                                                     picked: str) -> None:
    """Searge's mux: input k for selector k (1 ≤ k < n), any other value input0."""
    assert muxed(selector, kind) == [picked, 0]


def test_muxers_chain_through_composites() -> None:
    """A muxer fed by a muxer fed by a prompt encoder: the link ends at the encoder's node."""
    prompt = {"k": {"class_type": "SeargeIntegerConstant", "inputs": {"value": 1}},
              "enc": {"class_type": "SeargeSDXLBasePromptEncoder", "inputs": {
                  "base_clip": ["ckpt", 1]}},
              "m1": {"class_type": "SeargeConditioningMuxer2", "inputs": {
                  "input0": ["x", 0], "input1": ["enc", 1], "input_selector": ["k", 0]}},
              "m2": {"class_type": "SeargeConditioningMuxer2", "inputs": {
                  "input0": ["m1", 0], "input1": ["y", 0], "input_selector": 0}},
              "use": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["m2", 0]}}}
    folded, issues = fold(prompt)
    assert issues == []
    assert folded["use"]["inputs"]["conditioning"] == ["enc:1", 0]


def test_a_muxer_whose_selector_is_not_a_value_is_refused() -> None:
    prompt = {"mux": {"class_type": "SeargeConditioningMuxer2", "inputs": {
        "input0": ["a", 0], "input1": ["b", 0], "input_selector": ["ksampler", 0]}},
              "use": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["mux", 0]}}}
    _, issues = fold(prompt)
    assert [(i.code, i.node, i.field) for i in issues] == [
        (Code.LINK_TO_WIDGET, "mux", "input_selector")]


def test_an_unset_image_leaves_its_consumer_unset() -> None:
    prompt = pipeline()
    del prompt["i1"]["inputs"]["mask"]
    prompt["use"] = {"class_type": "SetLatentNoiseMask", "inputs": {
        "samples": ["lat", 0], "mask": ["SeargeOutput1", 7]}}
    folded, issues = fold(prompt)
    assert issues == []
    assert folded["use"]["inputs"] == {"samples": ["lat", 0]}


def loaders(state: str = "enabled", save_to: str = "output folder") -> dict[str, Any]:
    return {
        "i4": {"class_type": "SeargeInput4", "inputs": {
            "base_model": "base.safetensors", "refiner_model": "refiner.safetensors",
            "vae_model": "vae.safetensors", "main_upscale_model": "up1.pth",
            "support_upscale_model": "up2.pth", "lora_model": "lora.safetensors"}},
        "o4": {"class_type": "SeargeOutput4", "inputs": {"model_names": ["i4", 0]}},
        "ckpt": {"class_type": "SeargeCheckpointLoader", "inputs": {"ckpt_name": ["o4", 1]},
                 "_meta": {"title": "BASE Model"}},
        "vae": {"class_type": "SeargeVAELoader", "inputs": {"vae_name": ["o4", 3]}},
        "up": {"class_type": "SeargeUpscaleModelLoader", "inputs": {"upscaler_name": ["o4", 5]}},
        "lora": {"class_type": "SeargeLoraLoader", "inputs": {
            "model": ["ckpt", 0], "clip": ["ckpt", 1], "lora_name": ["o4", 6],
            "strength_model": 0.5, "strength_clip": "0.25"}},
        "k": {"class_type": "KSampler", "inputs": {"model": ["lora", 0]}},
        "enc": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["lora", 1], "text": "x"}},
        "dec": {"class_type": "VAEDecode", "inputs": {"samples": ["k", 0], "vae": ["vae", 0]}},
        "s1": {"class_type": "SeargeImageSave", "inputs": {
            "images": ["dec", 0], "filename_prefix": "out-%date%/gen", "state": state,
            "save_to": save_to}},
    }


def test_the_loaders_are_the_native_loaders_they_call() -> None:
    folded, issues = fold(loaders())
    assert issues == []
    assert folded["ckpt"] == {"class_type": "CheckpointLoaderSimple", "inputs": {
        "ckpt_name": "base.safetensors"}, "_meta": {"title": "BASE Model"}}
    assert folded["vae"]["inputs"] == {"vae_name": "vae.safetensors"}
    assert folded["up"] == {"class_type": "UpscaleModelLoader",
                            "inputs": {"model_name": "up2.pth"}}
    assert folded["lora"] == {"class_type": "LoraLoader", "inputs": {
        "model": ["ckpt", 0], "clip": ["ckpt", 1], "lora_name": "lora.safetensors",
        "strength_model": 0.5, "strength_clip": 0.25}}
    assert folded["k"]["inputs"]["model"] == ["lora", 0]
    assert folded["enc"]["inputs"]["clip"] == ["lora", 1]
    assert folded["dec"]["inputs"]["vae"] == ["vae", 0]
    today = datetime.now().strftime("%Y-%m-%d")
    assert folded["s1"] == {"class_type": "SaveImage", "inputs": {
        "images": ["dec", 0], "filename_prefix": f"out-{today}/gen"}}
    assert translate(folded)[1] == []


def test_a_disabled_image_save_saves_nothing_and_the_input_folder_is_refused() -> None:
    folded, issues = fold(loaders(state="disabled"))
    assert issues == [] and "s1" not in folded
    _, issues = fold(loaders(save_to="input folder"))
    assert [(i.code, i.node) for i in issues] == [(Code.INVALID_PARAM, "s1")]
    assert "input folder" in issues[0].message


REBORN = Path(__file__).parents[1] / "corpus" / "workflows" / \
    "searge_sdxl__Searge-SDXL-Reborn-v3_3.json"


def test_the_ui_format_reads_the_widgets_in_searges_order() -> None:
    """Reborn's SeargeInput2 (seed followed by its control value) and SeargeInput3 (its
    optional denoise widget last)."""
    api, issues = to_api(json.loads(REBORN.read_text(encoding="utf-8")),
                         now=datetime(2026, 1, 1))
    assert issues == [] and api is not None
    assert api["133"]["inputs"] == {
        "seed": 4815162342, "image_width": 1024, "image_height": 1024, "steps": 30,
        "cfg": 7, "sampler_name": "dpmpp_2m", "scheduler": "karras", "save_image": "enabled",
        "save_directory": "output folder", "inputs": ["143", 0]}
    assert api["136"]["inputs"]["refiner_intensity"] == "hard"
    assert api["136"]["inputs"]["denoise"] == 0.5


def test_the_reborn_workflow_folds_to_native_nodes() -> None:
    """Its pipeline folds away (tests/corpus runs what is left): no Searge class but the two
    samplers, which get the processor's values (hires fix disabled: 0 steps, seed + 3)."""
    api, _ = to_api(json.loads(REBORN.read_text(encoding="utf-8")))
    assert api is not None
    folded, issues = fold(api)
    assert issues == []
    assert not any(n["class_type"].startswith("Searge") and n["class_type"] not in (
        "SeargeSDXLSampler2", "SeargeSDXLImage2ImageSampler") for n in folded.values())
    hires = folded["363"]["inputs"]
    assert (hires["steps"], hires["noise_seed"], hires["noise_offset"]) == (0, 4815162345, 0)
    assert folded["358"]["inputs"]["latent_image"] == ["44", 0]  # text to image: empty latent


def test_object_info_lists_them_for_the_editor(tmp_path: Path) -> None:
    info = object_info(default_registry(), Folders(tmp_path, tmp_path, tmp_path))
    assert info["SeargeInput7"]["python_module"] == "custom_nodes.SeargeSDXL"
    assert info["SeargeInput7"]["input"]["required"]["operation_mode"][0] == [
        "text to image", "image to image", "inpainting"]
    assert info["SeargeOutput4"]["output"][1] == "CHECKPOINT_NAME"
    assert info["SeargeImageSave"]["input"]["required"]["state"] == ["ENABLE_STATE"]
    models = info["SeargeInput4"]["input"]["required"]
    assert models["base_model"][0] == info["CheckpointLoaderSimple"]["input"]["required"][
        "ckpt_name"][0] and "toy-shapes" in models["refiner_model"][0]
    samplers = info["SeargeInput2"]["input"]["required"]["sampler_name"]
    assert samplers[0] == info["KSampler"]["input"]["required"]["sampler_name"][0]
    assert samplers[1] == {"default": "ddim"}
