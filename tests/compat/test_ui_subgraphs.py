"""Subgraphs (the new editor's definitions.subgraphs): instances flattened with ComfyUI's
execution ids (`outer:inner`, nested `a:b:c`), links through the boundary resolved, promoted
widget values given to the inner widgets; the result plans to the API twin's keys."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from graphrt import Runtime
from graphrt.compat.comfy.ui import to_api
from tests.compat.test_ui_format import node
from tests.compat.test_ui_groups import inputs_of
from tests.server.workflows import txt2img, txt2img_renamed

SAMPLE = "5f0c2a47-1b1e-4c56-9a3e-0d3a4c1e2b7f"
OUTER = "9b8e7d6c-5a4b-4c3d-8e2f-1a0b9c8d7e6f"


def link(id_: int, origin: int, slot: int, target: int, target_slot: int, type_: str
         ) -> dict[str, Any]:
    return {"id": id_, "origin_id": origin, "origin_slot": slot, "target_id": target,
            "target_slot": target_slot, "type": type_}


def boundary(name: str, type_: str, link_ids: list[int]) -> dict[str, Any]:
    return {"id": f"slot-{name}", "name": name, "type": type_, "linkIds": link_ids}


def sample_subgraph() -> dict[str, Any]:
    """EmptyLatentImage (5), KSampler (3) and VAEDecode (8); the sampler's seed promoted."""
    k = txt2img()["3"]["inputs"]
    sampler = node(3, "KSampler", [1, "randomize", k["steps"], k["cfg"], k["sampler_name"],
                                   k["scheduler"], k["denoise"]],
                   [("model", "MODEL", 1), ("positive", "CONDITIONING", 2),
                    ("negative", "CONDITIONING", 3), ("latent_image", "LATENT", 4),
                    ("seed", "INT", 8)], outputs=["LATENT"])
    sampler["inputs"][4]["widget"] = {"name": "seed"}
    return {
        "id": SAMPLE, "version": 1, "name": "Sample and decode",
        "inputNode": {"id": -10, "bounding": [0, 0, 120, 60]},
        "outputNode": {"id": -20, "bounding": [900, 0, 120, 60]},
        "inputs": [boundary("model", "MODEL", [1]), boundary("positive", "CONDITIONING", [2]),
                   boundary("negative", "CONDITIONING", [3]), boundary("vae", "VAE", [6]),
                   boundary("seed", "INT", [8])],
        "outputs": [boundary("IMAGE", "IMAGE", [7])],
        "widgets": [],
        "nodes": [node(5, "EmptyLatentImage", [64, 64, 1], outputs=["LATENT"]), sampler,
                  node(8, "VAEDecode", [], [("samples", "LATENT", 5), ("vae", "VAE", 6)],
                       outputs=["IMAGE"])],
        "links": [link(1, -10, 0, 3, 0, "MODEL"), link(2, -10, 1, 3, 1, "CONDITIONING"),
                  link(3, -10, 2, 3, 2, "CONDITIONING"), link(4, 5, 0, 3, 3, "LATENT"),
                  link(5, 3, 0, 8, 0, "LATENT"), link(6, -10, 3, 8, 1, "VAE"),
                  link(7, 8, 0, -20, 0, "IMAGE"), link(8, -10, 4, 3, 4, "INT")],
    }


def ui_with_subgraph(values: list[Any] | None = None) -> dict[str, Any]:
    """txt2img with its latent, sampler and decoder in subgraph instance 30."""
    api = txt2img()
    instance = node(30, SAMPLE, [api["3"]["inputs"]["seed"]] if values is None else values,
                    [("model", "MODEL", 1), ("positive", "CONDITIONING", 5),
                     ("negative", "CONDITIONING", 6), ("vae", "VAE", 9), ("seed", "INT", None)],
                    outputs=["IMAGE"])
    instance["inputs"][4]["widget"] = {"name": "seed"}
    nodes = [
        node(4, "CheckpointLoaderSimple", ["toy-shapes"], outputs=["MODEL", "CLIP", "VAE"]),
        node(6, "CLIPTextEncode", [api["6"]["inputs"]["text"]], [("clip", "CLIP", 3)],
             outputs=["CONDITIONING"]),
        node(7, "CLIPTextEncode", [""], [("clip", "CLIP", 4)], outputs=["CONDITIONING"]),
        instance, node(9, "SaveImage", ["ComfyUI"], [("images", "IMAGE", 12)]),
    ]
    links = [link(1, 4, 0, 30, 0, "MODEL"), link(3, 4, 1, 6, 0, "CLIP"),
             link(4, 4, 1, 7, 0, "CLIP"), link(5, 6, 0, 30, 1, "CONDITIONING"),
             link(6, 7, 0, 30, 2, "CONDITIONING"), link(9, 4, 2, 30, 3, "VAE"),
             link(12, 30, 0, 9, 0, "IMAGE")]
    return {"id": "0b9d-test", "revision": 0, "last_node_id": 30, "last_link_id": 12,
            "nodes": nodes, "links": links, "groups": [],
            "definitions": {"subgraphs": [sample_subgraph()]}, "config": {}, "extra": {},
            "version": 0.4}


EXPECTED = txt2img_renamed({"5": "30:5", "3": "30:3", "8": "30:8"})


@pytest.mark.parametrize("values", [None, [7, "fixed"]])
def test_a_subgraph_instance_flattens_with_execution_ids(values: list[Any] | None) -> None:
    """One value per promoted widget; an old instance's control value after it is skipped."""
    prompt, issues = to_api(ui_with_subgraph(values))
    assert issues == [] and prompt is not None
    assert inputs_of(prompt) == inputs_of(EXPECTED)


def test_the_subgraph_twin_plans_to_the_api_keys() -> None:
    rt = Runtime(device="cpu")
    keys = rt.plan(ui_with_subgraph()).plan.keys
    assert keys == rt.plan(EXPECTED).plan.keys
    assert sorted(keys.values()) == sorted(rt.plan(txt2img()).plan.keys.values())


def test_a_promoted_widget_fed_by_a_link_takes_the_link() -> None:
    doc = ui_with_subgraph()
    doc["nodes"][3]["inputs"][4]["link"] = 40
    doc["nodes"].append(node(40, "PrimitiveNode", [99, "fixed"], outputs=["INT"]))
    doc["links"].append(link(40, 40, 0, 30, 4, "INT"))
    prompt, _ = to_api(doc)
    assert prompt is not None and prompt["30:3"]["inputs"]["seed"] == 99


def test_without_a_value_the_inner_widget_keeps_its_own() -> None:
    prompt, _ = to_api(ui_with_subgraph([]))
    assert prompt is not None and prompt["30:3"]["inputs"]["seed"] == 1


def test_nested_subgraphs_give_nested_ids() -> None:
    """Instance 40 of OUTER holds instance 2 of SAMPLE: the sampler is 40:2:3."""
    doc = ui_with_subgraph()
    outer = {
        "id": OUTER, "version": 1, "name": "Outer",
        "inputNode": {"id": -10}, "outputNode": {"id": -20},
        "inputs": [boundary("model", "MODEL", [1]), boundary("positive", "CONDITIONING", [2]),
                   boundary("negative", "CONDITIONING", [3]), boundary("vae", "VAE", [4])],
        "outputs": [boundary("IMAGE", "IMAGE", [5])],
        "nodes": [copy.deepcopy(doc["nodes"][3]) | {"id": 2, "inputs": [
            {"name": n, "type": t, "link": i} for i, (n, t) in enumerate(
                [("model", "MODEL"), ("positive", "CONDITIONING"),
                 ("negative", "CONDITIONING"), ("vae", "VAE")], start=1)]}],
        "links": [link(1, -10, 0, 2, 0, "MODEL"), link(2, -10, 1, 2, 1, "CONDITIONING"),
                  link(3, -10, 2, 2, 2, "CONDITIONING"), link(4, -10, 3, 2, 3, "VAE"),
                  link(5, 2, 0, -20, 0, "IMAGE")],
    }
    doc["definitions"]["subgraphs"].append(outer)
    doc["nodes"][3]["id"], doc["nodes"][3]["type"] = 40, OUTER
    doc["nodes"][3]["inputs"].pop()
    doc["nodes"][3]["widgets_values"] = []
    for item in doc["links"]:
        item["origin_id"] = 40 if item["origin_id"] == 30 else item["origin_id"]
        item["target_id"] = 40 if item["target_id"] == 30 else item["target_id"]
    prompt, issues = to_api(doc)
    assert issues == [] and prompt is not None
    want = txt2img_renamed({"5": "40:2:5", "3": "40:2:3", "8": "40:2:8"})
    assert inputs_of(prompt) == inputs_of(want)


def test_a_boundary_input_wired_to_an_output_passes_through() -> None:
    doc = ui_with_subgraph()
    sub = doc["definitions"]["subgraphs"][0]
    sub["outputs"].append(boundary("vae_out", "VAE", [9]))
    sub["links"].append(link(9, -10, 3, -20, 1, "VAE"))
    doc["nodes"][3]["outputs"].append({"name": "vae_out", "type": "VAE", "links": [13]})
    doc["nodes"].append(node(41, "VAEDecode", [], [("samples", "LATENT", None),
                                                   ("vae", "VAE", 13)], outputs=["IMAGE"]))
    doc["links"].append(link(13, 30, 1, 41, 1, "VAE"))
    prompt, _ = to_api(doc)
    assert prompt is not None and prompt["41"]["inputs"]["vae"] == ["4", 2]


def test_an_unknown_class_inside_a_subgraph_is_named_with_its_id() -> None:
    doc = ui_with_subgraph()
    doc["definitions"]["subgraphs"][0]["nodes"][0]["type"] = "FancyLatent"
    prompt, issues = to_api(doc)
    assert prompt is None and [(i.node, i.found) for i in issues] == [("30:5", "FancyLatent")]
    assert "subgraph 'Sample and decode'" in issues[0].message
    assert "UI-format" in issues[0].message


def test_an_instance_without_its_definition_says_so() -> None:
    doc = ui_with_subgraph()
    doc["definitions"] = {"subgraphs": []}
    prompt, issues = to_api(doc)
    assert prompt is None and issues[0].node == "30" and issues[0].found == SAMPLE
    assert "definitions.subgraphs" in issues[0].message


def test_the_run_writes_the_image(tmp_path: Any) -> None:
    result = Runtime(device="cpu", output_dir=tmp_path).run(ui_with_subgraph())
    assert result.ok and (tmp_path / result.outputs["9"][0]).is_file()
