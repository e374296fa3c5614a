"""Group nodes (the old editor's extra.groupNodes): flattened with ComfyUI's ids
(`<group node id>:<index>`), boundary links resolved, the group's widget values given to the
inner widgets in the editor's order; the result plans to the API twin's keys."""

from __future__ import annotations

from typing import Any

import pytest

from graphrt import Runtime
from graphrt.compat.comfy.ui import class_types, to_api
from tests.compat.test_ui_format import node
from tests.server.workflows import txt2img, txt2img_renamed


def inner(type_: str, widgets: list[Any] | None = None,
          inputs: list[tuple[str, str]] = (), outputs: list[str] = (), **extra: Any
          ) -> dict[str, Any]:
    """An inner node as the editor stores it in a group definition: no id, links unset."""
    raw = node(0, type_, widgets, [(n, t, None) for n, t in inputs], outputs=outputs)
    del raw["id"]
    return {**raw, **extra}


def sample_group() -> dict[str, Any]:
    """A group of EmptyLatentImage, KSampler and VAEDecode (indexes 0, 1, 2)."""
    return {
        "nodes": [
            inner("EmptyLatentImage", [512, 512, 1], outputs=["LATENT"], index=0),
            inner("KSampler", [1, "fixed", 20, 8, "euler", "normal", 1],
                  [("model", "MODEL"), ("positive", "CONDITIONING"),
                   ("negative", "CONDITIONING"), ("latent_image", "LATENT")],
                  outputs=["LATENT"], index=1),
            inner("VAEDecode", None, [("samples", "LATENT"), ("vae", "VAE")],
                  outputs=["IMAGE"], index=2),
        ],
        "links": [[0, 0, 1, 3, 5, "LATENT"], [1, 0, 2, 0, 3, "LATENT"],
                  [None, 0, 1, 0, 4, "MODEL"], [None, 0, 1, 1, 6, "CONDITIONING"],
                  [None, 0, 1, 2, 7, "CONDITIONING"], [None, 2, 2, 1, 4, "VAE"]],
        "external": [[2, 0, "IMAGE"]],
    }


def ui_with_group(type_: str = "workflow>Sample", control: Any = "randomize") -> dict[str, Any]:
    """txt2img with its latent, sampler and decoder in group node 20."""
    api = txt2img()
    k = api["3"]["inputs"]
    values = [64, 64, 1, k["seed"], control, k["steps"], k["cfg"], k["sampler_name"],
              k["scheduler"], k["denoise"]]
    nodes = [
        node(4, "CheckpointLoaderSimple", ["toy-shapes"], outputs=["MODEL", "CLIP", "VAE"]),
        node(6, "CLIPTextEncode", [api["6"]["inputs"]["text"]], [("clip", "CLIP", 3)],
             outputs=["CONDITIONING"]),
        node(7, "CLIPTextEncode", [""], [("clip", "CLIP", 4)], outputs=["CONDITIONING"]),
        node(20, type_, values, [("model", "MODEL", 1), ("positive", "CONDITIONING", 5),
                                 ("negative", "CONDITIONING", 6), ("vae", "VAE", 9)],
             outputs=["IMAGE"]),
        node(9, "SaveImage", ["ComfyUI"], [("images", "IMAGE", 12)]),
    ]
    links = [[1, 4, 0, 20, 0, "MODEL"], [3, 4, 1, 6, 0, "CLIP"], [4, 4, 1, 7, 0, "CLIP"],
             [5, 6, 0, 20, 1, "CONDITIONING"], [6, 7, 0, 20, 2, "CONDITIONING"],
             [9, 4, 2, 20, 3, "VAE"], [12, 20, 0, 9, 0, "IMAGE"]]
    return {"last_node_id": 20, "last_link_id": 12, "nodes": nodes, "links": links,
            "groups": [], "config": {}, "extra": {"groupNodes": {"Sample": sample_group()}},
            "version": 0.4}


def expected() -> dict[str, Any]:
    """txt2img under the group's ids."""
    return txt2img_renamed({"5": "20:0", "3": "20:1", "8": "20:2"})


def inputs_of(prompt: dict[str, Any]) -> dict[str, Any]:
    return {k: (v["class_type"], v["inputs"]) for k, v in prompt.items()}


@pytest.mark.parametrize("type_", ["workflow>Sample", "workflow/Sample"])
@pytest.mark.parametrize("control", ["randomize", True])
def test_a_group_node_flattens_with_comfyuis_ids(type_: str, control: Any) -> None:
    prompt, issues = to_api(ui_with_group(type_, control))
    assert issues == [] and prompt is not None
    assert inputs_of(prompt) == inputs_of(expected())
    assert set(class_types(ui_with_group(type_))) == set(expected()) | {"20:0", "20:1", "20:2"}


def test_the_group_twin_plans_to_the_api_keys() -> None:
    """The same keys as the API prompt under the group's ids, and as plain txt2img's."""
    rt = Runtime(device="cpu")
    keys = rt.plan(ui_with_group()).plan.keys
    assert keys == rt.plan(expected()).plan.keys
    assert sorted(keys.values()) == sorted(rt.plan(txt2img()).plan.keys.values())


def test_a_group_with_a_primitive_and_a_reroute_inside() -> None:
    """An inner PrimitiveNode feeding the sampler's steps shows its value (and control) on
    the group; an inner Reroute linked both ways shows nothing."""
    doc = ui_with_group()
    group = doc["extra"]["groupNodes"]["Sample"]
    sampler = group["nodes"][1]
    sampler["inputs"].append({"name": "steps", "type": "INT", "link": None,
                              "widget": {"name": "steps"}})
    group["nodes"].append(inner("PrimitiveNode", [5, "fixed"], outputs=["INT"], index=3,
                                title="Steps"))
    group["nodes"].append(inner("Reroute", None, [("", "*")], outputs=["LATENT"], index=4))
    group["links"] = [link for link in group["links"] if link[:2] != [1, 0]] + [
        [3, 0, 1, 4, 30, "INT"], [1, 0, 4, 0, 3, "LATENT"], [4, 0, 2, 0, 31, "LATENT"]]
    values = doc["nodes"][3]["widgets_values"]
    del values[5]  # the steps widget is now an input, fed inside the group
    values += [3, "fixed"]  # the primitive "Steps value" comes last, with its control
    prompt, issues = to_api(doc)
    assert issues == [] and prompt is not None
    assert inputs_of(prompt) == inputs_of(expected())


def test_two_inner_nodes_of_one_class_get_prefixed_names() -> None:
    """The second CLIPTextEncode's inputs are "CLIPTextEncode text" and "CLIPTextEncode
    clip"; values and links reach the right inner node."""
    group = {"nodes": [
        inner("CLIPTextEncode", ["x"], [("clip", "CLIP")], ["CONDITIONING"], index=0),
        inner("CLIPTextEncode", ["y"], [("clip", "CLIP")], ["CONDITIONING"], index=1)],
        "links": [], "external": []}
    doc = ui_with_group()
    doc["extra"]["groupNodes"]["Prompts"] = group
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] not in (6, 7)] + [
        node(30, "workflow>Prompts", ["a red circle on the left", ""],
             [("clip", "CLIP", 3), ("CLIPTextEncode clip", "CLIP", 4)],
             outputs=["CONDITIONING", "CLIPTextEncode CONDITIONING"])]
    doc["links"] = [[1, 4, 0, 20, 0, "MODEL"], [3, 4, 1, 30, 0, "CLIP"],
                    [4, 4, 1, 30, 1, "CLIP"], [5, 30, 0, 20, 1, "CONDITIONING"],
                    [6, 30, 1, 20, 2, "CONDITIONING"], [9, 4, 2, 20, 3, "VAE"],
                    [12, 20, 0, 9, 0, "IMAGE"]]
    prompt, issues = to_api(doc)
    assert issues == [] and prompt is not None
    assert prompt["30:0"]["inputs"] == {"text": "a red circle on the left", "clip": ["4", 1]}
    assert prompt["30:1"]["inputs"] == {"text": "", "clip": ["4", 1]}
    assert prompt["20:1"]["inputs"]["positive"] == ["30:0", 0]
    assert prompt["20:1"]["inputs"]["negative"] == ["30:1", 0]


def test_a_group_widget_converted_to_an_input_takes_its_link() -> None:
    doc = ui_with_group()
    doc["nodes"][3]["inputs"].append({"name": "seed", "type": "INT", "link": 40,
                                      "widget": {"name": "seed"}})
    doc["nodes"].append(node(40, "PrimitiveNode", [1234, "fixed"], outputs=["INT"]))
    doc["links"].append([40, 40, 0, 20, 4, "INT"])
    prompt, issues = to_api(doc)
    assert issues == [] and prompt is not None
    assert prompt["20:1"]["inputs"]["seed"] == 1234


def test_an_unknown_class_inside_a_group_is_named_with_its_id() -> None:
    doc = ui_with_group()
    doc["extra"]["groupNodes"]["Sample"]["nodes"][1]["type"] = "FancySampler"
    prompt, issues = to_api(doc)
    assert prompt is None and len(issues) == 1
    (problem,) = issues
    assert problem.node == "20:1" and problem.found == "FancySampler"
    assert "UI-format" in problem.message and "group node 'Sample'" in problem.message


def test_a_group_node_without_its_definition_says_so() -> None:
    doc = ui_with_group()
    doc["extra"] = {}
    prompt, issues = to_api(doc)
    assert prompt is None and issues[0].node == "20"
    assert "extra.groupNodes" in issues[0].message


def test_a_muted_group_is_dropped_and_a_bypassed_one_passes_through() -> None:
    doc = ui_with_group()
    doc["nodes"][3]["mode"] = 2
    prompt, _ = to_api(doc)
    assert prompt is not None and not any(k.startswith("20") for k in prompt)
    assert "images" not in prompt["9"]["inputs"]
    doc["nodes"][3]["mode"] = 4  # no input of type IMAGE: nothing passes through
    prompt, _ = to_api(doc)
    assert prompt is not None and "images" not in prompt["9"]["inputs"]
