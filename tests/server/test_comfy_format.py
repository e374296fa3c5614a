"""ComfyUI API format → native: classes, links, defaults, enums, errors naming the node."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from graphrt import InvalidGraph, Runtime, load_graph
from graphrt.compat.comfy.classes import CLASSES
from graphrt.compat.comfy.translate import native_field_to_comfy
from graphrt.compat.formats import to_native

from .workflows import TXT2IMG

ROOT = Path(__file__).resolve().parents[2]
CORE = {"CheckpointLoaderSimple", "CLIPTextEncode", "CLIPTextEncodeSDXL",
        "CLIPTextEncodeSDXLRefiner", "EmptyLatentImage", "KSampler", "KSamplerAdvanced",
        "VAEEncode", "VAEDecode", "LoadImage", "SaveImage", "PreviewImage", "ImageScale",
        "ImageBlend", "SetLatentNoiseMask", "LatentCompositeMasked", "ConditioningCombine",
        "ConditioningSetMask", "UpscaleModelLoader", "ImageUpscaleWithModel"}


def test_core_classes_map_to_registered_ops() -> None:
    from graphrt import default_registry

    registry = default_registry()
    assert set(CLASSES) >= CORE
    for name, cls in CLASSES.items():
        spec = registry.get(cls.op)
        assert spec is not None, name
        ports = {p.name for p in spec.inputs}
        params = set(spec.params.model_fields)
        for i in cls.inputs:
            assert i.to in (ports if i.is_link else params), (name, i.name)
        # output index i is the native port cls.outputs[i] names (translate.py): each must be
        # an output of the op, once (FromBasicPipe_v2 lists the pipe first, the op last)
        named = [port for _t, port in cls.outputs]
        assert len(set(named)) == len(named), name
        assert set(named) <= {p.name for p in spec.outputs}, name


def test_txt2img_translates_with_ids_links_and_names() -> None:
    doc = load_graph(TXT2IMG)
    assert set(doc.nodes) == set(TXT2IMG)
    k = doc.nodes["3"]
    assert k.op == "sample.steps"
    assert k.in_ == {"model": "4.model", "positive": "6.out", "negative": "7.out",
                     "latent": "5.out"}
    assert k.params["sampler"] == "euler" and k.params["denoise"] == 1.0
    assert doc.nodes["6"].in_ == {"clip": "4.clip"} and doc.nodes["8"].in_["vae"] == "4.vae"
    assert doc.nodes["5"].params == {"width": 64, "height": 64, "batch": 1}
    assert doc.outputs == {"9": "9.images"}


def test_translation_does_not_import_torch() -> None:
    code = ("import sys, json; from graphrt.compat.formats import to_native; "
            f"d, i = to_native({TXT2IMG!r}); assert d and not i; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_ksampler_advanced_enable_strings_and_defaults() -> None:
    data = copy.deepcopy(TXT2IMG)
    inputs = dict(data["3"]["inputs"], noise_seed=3, add_noise="disable",
                  return_with_leftover_noise="enable", start_at_step=1)
    del inputs["seed"], inputs["denoise"]
    data["3"] = {"class_type": "KSamplerAdvanced", "inputs": inputs}
    params = load_graph(data).nodes["3"].params
    assert params["add_noise"] is False and params["leftover_noise"] is True
    assert params["seed"] == 3 and params["start"] == 1 and params["end"] == 10000


def test_defaults_fill_missing_widgets_and_combine_is_variadic() -> None:
    data = copy.deepcopy(TXT2IMG)
    data["5"]["inputs"] = {}
    data["10"] = {"class_type": "ConditioningCombine",
                  "inputs": {"conditioning_1": ["6", 0], "conditioning_2": ["7", 0]}}
    data["3"]["inputs"]["positive"] = ["10", 0]
    doc = load_graph(data)
    assert doc.nodes["5"].params == {"width": 512, "height": 512, "batch": 1}
    assert doc.nodes["10"].in_ == {"conditioning": ["6.out", "7.out"]}
    assert load_graph({"1": {"class_type": "LoadImage", "inputs": {"image": "a.png [input]"}},
                       "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
                      ).nodes["1"].params == {"name": "a.png"}


def test_every_problem_names_its_node_and_input() -> None:
    data = copy.deepcopy(TXT2IMG)
    data["4"]["class_type"] = "CheckpointLoaderSimpleX"
    data["8"]["inputs"]["samples"] = ["3", 5]
    data["7"]["inputs"]["clip"] = ["99", 0]
    data["3"]["inputs"]["seed"] = ["5", 0]
    _, issues = to_native(data)
    where = {(i.node, i.field, i.code) for i in issues}
    assert where == {("4", "class_type", "unsupported_class_type"),
                     ("8", "samples", "bad_link"), ("7", "clip", "unknown_node"),
                     ("3", "seed", "link_to_widget")}
    assert "CheckpointLoaderSimple" in next(i.message for i in issues if i.node == "4")


def test_out_of_range_values_fail_validation_on_the_users_node() -> None:
    data = copy.deepcopy(TXT2IMG)
    data["3"]["inputs"].update(steps=100_000, sampler_name="nope")
    with pytest.raises(InvalidGraph) as err:
        Runtime().load(data)
    fields = {(i.node, native_field_to_comfy("KSampler", i.field)) for i in err.value.issues}
    assert fields == {("3", "steps"), ("3", "sampler_name")}


def test_no_output_node_is_an_error() -> None:
    data = {k: v for k, v in TXT2IMG.items() if k != "9"}
    _, issues = to_native(data)
    assert [i.code for i in issues] == ["prompt_no_outputs"]


def test_cli_accepts_comfy_format(tmp_path: Path) -> None:
    import json

    path = tmp_path / "wf.json"
    path.write_text(json.dumps(TXT2IMG))
    proc = subprocess.run([sys.executable, "-m", "graphrt", "validate", str(path), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["valid"] is True
