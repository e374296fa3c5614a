"""ComfyUI_Noise's classes (classes_noise.py) and DualCFGGuider: wired to registered ops with
their packs' input names, order and defaults; a converted widget fed by BNK_GetSigma's FLOAT
reaches BNK_InjectNoise's strength; the pack's variations workflow runs in both formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphrt import Runtime, default_registry
from graphrt.compat.comfy.classes import CLASSES
from graphrt.compat.comfy.classes_noise import NOISE_CLASSES
from graphrt.compat.comfy.object_info import class_info
from graphrt.compat.comfy.translate import translate
from graphrt.compat.comfy.ui import to_api
from graphrt.core.paths import Folders

CORPUS = Path(__file__).parent.parent / "corpus" / "workflows"
# class → (required inputs in order, optional inputs, widget defaults, outputs), from
# ComfyUI_Noise 0c9ec19 nodes.py and ComfyUI's comfy_extras/nodes_custom_sampler.py
EXPECTED: dict[str, tuple[list[str], list[str], dict[str, Any], list[str]]] = {
    "BNK_NoisyLatentImage": (["source", "seed", "width", "height", "batch_size"], [],
                             {"seed": 0, "width": 512, "height": 512, "batch_size": 1},
                             ["LATENT"]),
    "BNK_DuplicateBatchIndex": (["latents", "batch_index", "batch_size"], [],
                                {"batch_index": 0, "batch_size": 1}, ["LATENT"]),
    "BNK_SlerpLatent": (["latents1", "factor"], ["latents2", "mask"], {"factor": 0.5},
                        ["LATENT"]),
    "BNK_GetSigma": (["model", "sampler_name", "scheduler", "steps", "start_at_step",
                      "end_at_step"], [], {"steps": 10000, "start_at_step": 0,
                                           "end_at_step": 10000}, ["FLOAT"]),
    "BNK_InjectNoise": (["latents", "strength"], ["noise", "mask"], {"strength": 1.0},
                        ["LATENT"]),
    "DualCFGGuider": (["model", "cond1", "cond2", "negative", "cfg_conds",
                       "cfg_cond2_negative", "style"], [],
                      {"cfg_conds": 8.0, "cfg_cond2_negative": 8.0, "style": "regular"},
                      ["GUIDER"]),
}


def test_classes_are_wired_and_map_to_registered_ops() -> None:
    registry = default_registry()
    for name in EXPECTED:
        cls = CLASSES[name]
        assert name not in NOISE_CLASSES or NOISE_CLASSES[name] is cls
        spec = registry.get(cls.op)
        assert spec is not None, name
        ports, params = {p.name for p in spec.inputs}, set(spec.params.model_fields)
        for i in cls.inputs:
            assert i.to in (ports if i.is_link else params), (name, i.name)
            assert not i.link or i.link in ports, (name, i.name)
        assert [port for _t, port in cls.outputs] == [p.name for p in spec.outputs], name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_object_info_matches_the_pack(name: str, tmp_path: Path) -> None:
    required, optional, defaults, outputs = EXPECTED[name]
    info = class_info(name, CLASSES[name], default_registry(),
                      Folders(tmp_path, tmp_path, tmp_path))
    assert info["input_order"] == {"required": required, "optional": optional}
    assert info["output"] == outputs
    for key, value in defaults.items():
        assert info["input"]["required"][key][1]["default"] == value, key
    pack = "custom_nodes.ComfyUI_Noise" if name.startswith("BNK_") else \
        "comfy_extras.nodes_custom_sampler"
    assert info["python_module"] == pack
    if name == "BNK_NoisyLatentImage":
        assert info["input"]["required"]["source"][0] == ["CPU", "GPU"]
        assert info["input"]["required"]["seed"][1]["control_after_generate"] is True
    if name == "DualCFGGuider":
        assert info["input"]["required"]["style"][0] == ["regular", "nested"]


def variations() -> dict[str, Any]:
    doc = json.loads((CORPUS / "comfyui_noise__variations_example.json").read_text())
    api, issues = to_api(doc)
    assert api is not None, issues
    return api


def test_get_sigma_feeds_inject_noise_through_the_converted_widget() -> None:
    api = variations()
    assert api["39"]["inputs"]["strength"] == ["36", 0]
    native, issues = translate(api)
    assert native is not None, issues
    assert native["nodes"]["39"]["in"]["strength"] == "36.out"
    assert "strength" not in native["nodes"]["39"]["params"]
    # a plain value still lands in the param
    api["39"]["inputs"]["strength"] = 0.5
    native, _ = translate(api)
    assert native is not None and native["nodes"]["39"]["params"]["strength"] == 0.5


def _small(api: dict[str, Any]) -> dict[str, Any]:
    for node in api.values():
        inputs = node["inputs"]
        if node["class_type"] == "CheckpointLoaderSimple":
            inputs["ckpt_name"] = "toy-shapes"
        for key in ("width", "height"):
            if key in inputs:
                inputs[key] = 64
        for key in ("steps", "end_at_step"):
            if isinstance(inputs.get(key), int) and inputs[key] > 4:
                inputs[key] = 4
        if "batch_size" in inputs:
            inputs["batch_size"] = 2
    return api


def test_the_variations_workflow_runs_in_both_formats_alike(tmp_path: Path) -> None:
    """The UI file and its API prompt (ComfyUI's own conversion, as the editor exports it)
    plan to the same keys and run."""
    ui = json.loads((CORPUS / "comfyui_noise__variations_example.json").read_text())
    for node in ui["nodes"]:  # the same adaptation, made on the UI document's widgets
        if node["type"] == "CheckpointLoaderSimple":
            node["widgets_values"] = ["toy-shapes"]
    api = variations()
    api["4"]["inputs"]["ckpt_name"] = "toy-shapes"
    rt = Runtime(device="cpu", output_dir=tmp_path)
    assert rt.plan(ui).plan.keys == rt.plan(api).plan.keys
    result = rt.run(_small(api))
    assert result.ok, result.failed


def test_a_dual_cfg_custom_sampling_prompt_with_areas_runs(tmp_path: Path) -> None:
    def n(cls: str, **inputs: Any) -> dict[str, Any]:
        return {"class_type": cls, "inputs": inputs}

    prompt = {
        "1": n("CheckpointLoaderSimple", ckpt_name="toy-shapes"),
        "2": n("CLIPTextEncode", text="a red circle", clip=["1", 1]),
        "3": n("CLIPTextEncode", text="a blue square on the left", clip=["1", 1]),
        "4": n("CLIPTextEncode", text="", clip=["1", 1]),
        "5": n("ConditioningSetArea", conditioning=["3", 0], width=64, height=64, x=0, y=0,
               strength=1.2),
        "6": n("ConditioningSetTimestepRange", conditioning=["5", 0], start=0.0, end=0.6),
        "7": n("ConditioningCombine", conditioning_1=["2", 0], conditioning_2=["6", 0]),
        "8": n("DualCFGGuider", model=["1", 0], cond1=["7", 0], cond2=["2", 0],
               negative=["4", 0], cfg_conds=3.0, cfg_cond2_negative=2.0, style="nested"),
        "9": n("KSamplerSelect", sampler_name="seeds_2"),
        "10": n("BasicScheduler", model=["1", 0], scheduler="karras", steps=3, denoise=1.0),
        "11": n("RandomNoise", noise_seed=5),
        "12": n("EmptyLatentImage", width=128, height=96, batch_size=1),
        "13": n("SamplerCustomAdvanced", noise=["11", 0], guider=["8", 0], sampler=["9", 0],
                sigmas=["10", 0], latent_image=["12", 0]),
        "14": n("VAEDecode", samples=["13", 0], vae=["1", 2]),
        "15": n("SaveImage", images=["14", 0], filename_prefix="dual"),
    }
    result = Runtime(device="cpu", output_dir=tmp_path).run(prompt)
    assert result.ok, result.failed
    assert result.stats["model_calls"] == 5  # type: ignore[attr-defined]  # seeds_2: 2, 2, 1
