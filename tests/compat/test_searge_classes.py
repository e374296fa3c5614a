"""SeargeSDXL's first-generation classes (classes_searge.py): Searge's input names, order and
defaults; the v1 sampler is two KSamplerAdvanced calls with B = int(steps·base_ratio); the
prompt encoders are the CLIPTextEncodeSDXL(Refiner) nodes they compute; the value helpers
are computed while translating (folding.py), hand-worked below."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from graphrt import Runtime, default_registry
from graphrt.compat.comfy.classes import CLASSES, FOLDED_CLASSES, REQUIRED
from graphrt.compat.comfy.folding import fold
from graphrt.compat.comfy.translate import translate
from tests.server.workflows import txt2img

# class → inputs in order with defaults (None: a link), from SeargeSDXL 2eb5edb
# modules/_legacy.py (the classes of its 1bec238 searge_sdxl_sampler_node.py)
EXPECTED: dict[str, list[tuple[str, Any]]] = {
    "SeargeSDXLSampler": [
        ("base_model", None), ("base_positive", None), ("base_negative", None),
        ("refiner_model", None), ("refiner_positive", None), ("refiner_negative", None),
        ("latent_image", None), ("noise_seed", 0), ("steps", 30), ("cfg", 7.0),
        ("sampler_name", "dpmpp_2m"), ("scheduler", "karras"), ("base_ratio", 0.8),
        ("denoise", 1.0)],
    "SeargeSDXLPromptEncoder": [
        ("base_clip", None), ("refiner_clip", None), ("pos_g", "POS_G"), ("pos_l", "POS_L"),
        ("pos_r", "POS_R"), ("neg_g", "NEG_G"), ("neg_l", "NEG_L"), ("neg_r", "NEG_R"),
        ("base_width", 4096), ("base_height", 4096), ("crop_w", 0), ("crop_h", 0),
        ("target_width", 4096), ("target_height", 4096), ("pos_ascore", 6.0),
        ("neg_ascore", 2.5), ("refiner_width", 2048), ("refiner_height", 2048)],
    "SeargeSDXLBasePromptEncoder": [
        ("base_clip", None), ("pos_g", "POS_G"), ("pos_l", "POS_L"), ("neg_g", "NEG_G"),
        ("neg_l", "NEG_L"), ("base_width", 4096), ("base_height", 4096), ("crop_w", 0),
        ("crop_h", 0), ("target_width", 4096), ("target_height", 4096)],
    "SeargeSDXLRefinerPromptEncoder": [
        ("refiner_clip", None), ("pos_r", "POS_R"), ("neg_r", "NEG_R"), ("pos_ascore", 6.0),
        ("neg_ascore", 2.5), ("refiner_width", 2048), ("refiner_height", 2048)],
    "SeargePromptText": [("prompt", "")],
    "SeargePromptCombiner": [("prompt1", ""), ("separator", ", "), ("prompt2", "")],
    "SeargeIntegerConstant": [("value", 0)],
    "SeargeIntegerPair": [("value1", 0), ("value2", 0)],
    "SeargeIntegerMath": [("op", "a * b + c"), ("a", 0), ("b", 1), ("c", 0)],
    "SeargeIntegerScaler": [("value", 0), ("factor", 1.0), ("multiple_of", 1)],
    "SeargeFloatConstant": [("value", 0.0)],
    "SeargeFloatPair": [("value1", 0.0), ("value2", 0.0)],
    "SeargeFloatMath": [("op", "a * b + c"), ("a", 0.0), ("b", 1.0), ("c", 0.0)],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inputs_are_searges(name: str) -> None:
    cls = CLASSES.get(name) or FOLDED_CLASSES[name]
    got = [(i.name, None if i.is_link else i.default) for i in cls.inputs]
    assert got == EXPECTED[name]
    assert all(i.default is not REQUIRED for i in cls.inputs if not i.is_link)


def test_the_sampler_runs_a_registered_macro() -> None:
    cls = CLASSES["SeargeSDXLSampler"]
    spec = default_registry().get(cls.op)
    assert spec is not None and spec.is_macro
    ports, params = {p.name for p in spec.inputs}, set(spec.params.model_fields)
    assert all(i.to in (ports if i.is_link else params) for i in cls.inputs)


def searge_v1(steps: int, ratio: float, denoise: float = 1.0) -> dict[str, Any]:
    """txt2img sampled by SeargeSDXLSampler (node 3), the same model as base and refiner."""
    prompt = txt2img()
    k = prompt["3"]["inputs"]
    prompt["3"] = {"class_type": "SeargeSDXLSampler", "inputs": {
        "base_model": ["4", 0], "base_positive": ["6", 0], "base_negative": ["7", 0],
        "refiner_model": ["4", 0], "refiner_positive": ["6", 0], "refiner_negative": ["7", 0],
        "latent_image": ["5", 0], "noise_seed": k["seed"], "steps": steps, "cfg": k["cfg"],
        "sampler_name": "euler", "scheduler": "karras", "base_ratio": ratio,
        "denoise": denoise}}
    return prompt


def advanced_pair(steps: int, b: int) -> dict[str, Any]:
    """The same as two KSamplerAdvanced nodes: base [0, b) keeping its noise, refiner [b,
    steps) adding none."""
    prompt = txt2img()
    k = prompt.pop("3")["inputs"]
    common = {"noise_seed": k["seed"], "steps": steps, "cfg": k["cfg"],
              "sampler_name": "euler", "scheduler": "karras", "model": ["4", 0],
              "positive": ["6", 0], "negative": ["7", 0]}
    prompt["b"] = {"class_type": "KSamplerAdvanced", "inputs": {
        **common, "add_noise": "enable", "start_at_step": 0, "end_at_step": b,
        "return_with_leftover_noise": "enable", "latent_image": ["5", 0]}}
    prompt["r"] = {"class_type": "KSamplerAdvanced", "inputs": {
        **common, "add_noise": "disable", "start_at_step": b, "end_at_step": steps,
        "return_with_leftover_noise": "disable", "latent_image": ["b", 0]}}
    prompt["8"]["inputs"]["samples"] = ["r", 0]
    return prompt


@pytest.mark.parametrize(("steps", "ratio", "b"), [(10, 0.7, 7), (100, 0.29, 28), (4, 0.8, 3)])
def test_the_v1_sampler_is_two_advanced_calls(steps: int, ratio: float, b: int) -> None:
    """B = int(steps·ratio): 100 × 0.29 gives 28 (SeargeSDXLSampler2's epsilon would give
    29)."""
    rt = Runtime(device="cpu")
    searge, pair = rt.plan(searge_v1(steps, ratio)).plan.keys, rt.plan(
        advanced_pair(steps, b)).plan.keys
    assert (searge["3/base"], searge["3/refiner"]) == (pair["b"], pair["r"])
    assert searge["8"] == pair["8"]


def test_the_v1_sampler_edges() -> None:
    """B ≥ steps is one base run over all steps; denoise < 0.01 returns the latent."""
    rt = Runtime(device="cpu")
    whole = rt.plan(searge_v1(5, 1.0, 0.5)).plan.keys
    ksampler = txt2img()
    ksampler["3"]["inputs"].update(steps=5, sampler_name="euler", scheduler="karras",
                                   denoise=0.5)
    assert whole["3/base"] == rt.plan(ksampler).plan.keys["3"] and "3/refiner" not in whole
    skipped = rt.plan(searge_v1(5, 0.8, 0.005)).plan
    assert not any(k.startswith("3") for k in skipped.keys)


def encoders(node: str = "10") -> dict[str, Any]:
    """SeargeSDXLPromptEncoder node 10 on the toy checkpoint, feeding a KSampler."""
    prompt = txt2img()
    prompt[node] = {"class_type": "SeargeSDXLPromptEncoder", "inputs": {
        "base_clip": ["4", 1], "refiner_clip": ["4", 1], "pos_g": "a red circle",
        "pos_l": "on the left", "pos_r": "a red circle", "neg_g": "", "neg_l": "blurry",
        "neg_r": "", "base_width": 1024, "base_height": 1024, "crop_w": 0, "crop_h": 0,
        "target_width": 1024, "target_height": 1024, "pos_ascore": 6.0, "neg_ascore": 2.5,
        "refiner_width": 1024, "refiner_height": 1024}}
    prompt["3"]["inputs"].update(positive=[node, 0], negative=[node, 1])
    prompt["11"] = copy.deepcopy(prompt["3"])
    prompt["11"]["inputs"].update(positive=[node, 2], negative=[node, 3])
    prompt["12"] = {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0],
                                                          "vae": ["4", 2]}}
    prompt["13"] = {"class_type": "PreviewImage", "inputs": {"images": ["12", 0]}}
    del prompt["6"], prompt["7"]
    return prompt


def test_the_prompt_encoder_is_four_encoders() -> None:
    by_hand = encoders()
    v = by_hand.pop("10")["inputs"]
    size = {"width": 1024, "height": 1024, "crop_w": 0, "crop_h": 0, "target_width": 1024,
            "target_height": 1024}
    for node, sign in (("10", "pos"), ("10:1", "neg")):
        by_hand[node] = {"class_type": "CLIPTextEncodeSDXL", "inputs": {
            "clip": ["4", 1], **size, "text_g": v[f"{sign}_g"], "text_l": v[f"{sign}_l"]}}
    for node, sign in (("10:2", "pos"), ("10:3", "neg")):
        by_hand[node] = {"class_type": "CLIPTextEncodeSDXLRefiner", "inputs": {
            "ascore": v[f"{sign}_ascore"], "width": 1024, "height": 1024,
            "text": v[f"{sign}_r"], "clip": ["4", 1]}}
    for node, slot in (("3", ("10", "10:1")), ("11", ("10:2", "10:3"))):
        by_hand[node]["inputs"].update(positive=[slot[0], 0], negative=[slot[1], 0])
    rt = Runtime(device="cpu")
    assert rt.plan(encoders()).plan.keys == rt.plan(by_hand).plan.keys


def values_prompt() -> dict[str, Any]:
    """Steps from an IntegerMath of an IntegerPair, cfg from a FloatConstant, the latent's
    size from a scaled integer, the positive prompt from a combiner of two prompt texts."""
    prompt = txt2img()
    prompt.update({
        "20": {"class_type": "SeargeIntegerPair", "inputs": {"value1": 2, "value2": 5}},
        "21": {"class_type": "SeargeIntegerMath", "inputs": {
            "op": "a * b + c", "a": ["20", 0], "b": ["20", 1], "c": 1}},  # 2·5 + 1
        "22": {"class_type": "SeargeFloatConstant", "inputs": {"value": 4}},
        "23": {"class_type": "SeargeIntegerScaler", "inputs": {
            "value": 100, "factor": 0.7, "multiple_of": 8}},  # 70 // 8 · 8
        "24": {"class_type": "SeargePromptText", "inputs": {"prompt": "a red circle"}},
        "25": {"class_type": "SeargePromptText", "inputs": {"prompt": "on the left"}},
        "26": {"class_type": "SeargePromptCombiner", "inputs": {
            "prompt1": ["24", 0], "separator": " ", "prompt2": ["25", 0]}},
    })
    prompt["3"]["inputs"].update(steps=["21", 0], cfg=["22", 0])
    prompt["5"]["inputs"].update(width=["23", 0], height=["23", 0])
    prompt["6"]["inputs"]["text"] = ["26", 0]
    return prompt


def test_value_classes_fold_into_the_widgets_they_feed() -> None:
    folded, issues = fold(values_prompt())
    assert issues == [] and set(folded) == set(txt2img())
    assert folded["3"]["inputs"]["steps"] == 11 and folded["3"]["inputs"]["cfg"] == 4.0
    assert folded["5"]["inputs"]["width"] == folded["5"]["inputs"]["height"] == 64
    assert folded["6"]["inputs"]["text"] == "a red circle on the left"
    native, _ = translate(values_prompt())
    assert native is not None and native["nodes"]["3"]["params"]["steps"] == 11


@pytest.mark.parametrize(("cls", "inputs", "out"), [
    ("SeargeIntegerMath", {"op": "a + c", "a": 7, "c": 2}, (9,)),
    ("SeargeIntegerMath", {"op": "a - c", "a": 7, "c": 2}, (5,)),
    ("SeargeIntegerMath", {"op": "a * b", "a": 7, "b": 3}, (21,)),
    ("SeargeIntegerMath", {"op": "a / b", "a": 7, "b": 2}, (3,)),
    ("SeargeFloatMath", {"op": "a / b", "a": 7, "b": 2}, (3.5,)),
    ("SeargeFloatMath", {"op": "a * b + c", "a": 1.5, "b": 2, "c": 0.25}, (3.25,)),
    ("SeargeIntegerScaler", {"value": 1000, "factor": 1.5, "multiple_of": 64}, (1472,)),
    ("SeargePromptCombiner", {"prompt1": "", "prompt2": "b"}, ("b",)),
    ("SeargePromptCombiner", {"prompt1": "a", "prompt2": ""}, ("a",)),
    ("SeargePromptCombiner", {"prompt1": "a", "prompt2": "b"}, ("a, b",)),
    ("SeargeFloatPair", {"value1": 1, "value2": 2.5}, (1.0, 2.5)),
])
def test_value_classes_compute_as_searge(cls: str, inputs: dict[str, Any], out: tuple[Any, ...]
                                         ) -> None:
    prompt = {"1": {"class_type": cls, "inputs": inputs}}
    prompt.update({str(i + 2): {"class_type": "PreviewImage", "inputs": {"images": ["1", i]}}
                   for i in range(len(out))})
    folded, issues = fold(prompt)
    assert issues == []
    got = tuple(folded[str(i + 2)]["inputs"]["images"] for i in range(len(out)))
    assert got == out and all(type(a) is type(b) for a, b in zip(got, out, strict=True))


def test_values_that_cannot_be_computed_are_refused_by_node() -> None:
    prompt = values_prompt()
    prompt["21"]["inputs"].update(op="a / b", b=0)
    _, issues = fold(prompt)
    assert [(i.node, i.code) for i in issues] == [("21", "invalid_param")]
    prompt = values_prompt()
    prompt["21"]["inputs"]["c"] = ["3", 0]  # a sampler's latent is no value
    _, issues = fold(prompt)
    assert [(i.node, i.field, i.code) for i in issues] == [("21", "c", "link_to_widget")]
    prompt = values_prompt()
    prompt["20"]["inputs"]["value1"] = ["21", 0]  # 20 ← 21 ← 20
    _, issues = fold(prompt)
    assert any(i.code == "cycle" for i in issues)


def test_a_prompt_without_them_is_untouched() -> None:
    prompt = txt2img()
    assert fold(prompt) == (prompt, [])
