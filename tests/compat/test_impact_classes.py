"""Impact Pack's provider, regional, pipe and preview classes (classes_impact.py): each maps to
the right native op with Impact's input names, widget order and defaults, an API-format
Impact regional workflow with pipes runs and equals the same graph written natively, and
PreviewBridge gives the editor's mask edit as LoadImage reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphrt import Runtime, default_registry
from graphrt.compat.comfy.classes import CLASSES
from graphrt.compat.comfy.classes_impact import IMPACT_CLASSES
from graphrt.compat.comfy.object_info import class_info
from graphrt.core.paths import Folders

# class → (native op, Impact's required inputs in order, defaults of its widgets, outputs)
IMPACT: dict[str, tuple[str, list[str], dict[str, Any], list[str]]] = {
    "KSamplerAdvancedProvider": (
        "pipe.sampler", ["cfg", "sampler_name", "scheduler", "sigma_factor", "basic_pipe"],
        {"cfg": 8.0, "sigma_factor": 1.0}, ["KSAMPLER_ADVANCED"]),
    "KSamplerProvider": (
        "impact.ksampler", ["seed", "steps", "cfg", "sampler_name", "scheduler", "denoise",
                            "basic_pipe"],
        {"seed": 0, "steps": 20, "cfg": 8.0, "denoise": 1.0}, ["KSAMPLER"]),
    "TwoSamplersForMask": ("impact.two_samplers_for_mask",
                           ["latent_image", "base_sampler", "mask_sampler", "mask"], {},
                           ["LATENT"]),
    "RegionalPrompt": ("region.prompt", ["mask", "advanced_sampler"], {},
                       ["REGIONAL_PROMPTS"]),
    "CombineRegionalPrompts": ("region.combine", ["regional_prompts1"], {},
                               ["REGIONAL_PROMPTS"]),
    "RegionalSampler": (
        "impact.regional_sampler",
        ["seed", "seed_2nd", "seed_2nd_mode", "steps", "base_only_steps", "denoise", "samples",
         "base_sampler", "regional_prompts", "overlap_factor", "restore_latent",
         "additional_mode", "additional_sampler", "additional_sigma_ratio"],
        {"seed": 0, "seed_2nd": 0, "steps": 20, "base_only_steps": 2, "denoise": 1.0,
         "overlap_factor": 10, "restore_latent": True, "additional_mode": "ratio between",
         "additional_sigma_ratio": 0.3}, ["LATENT"]),
    "ToBasicPipe": ("pipe.make", ["model", "clip", "vae", "positive", "negative"], {},
                    ["BASIC_PIPE"]),
    "FromBasicPipe": ("pipe.split", ["basic_pipe"], {},
                      ["MODEL", "CLIP", "VAE", "CONDITIONING", "CONDITIONING"]),
    "FromBasicPipe_v2": ("pipe.split", ["basic_pipe"], {},
                         ["BASIC_PIPE", "MODEL", "CLIP", "VAE", "CONDITIONING",
                          "CONDITIONING"]),
    "EditBasicPipe": ("pipe.edit", ["basic_pipe"], {}, ["BASIC_PIPE"]),
    "PreviewBridge": ("impact.preview_bridge", ["images", "image"], {"image": ""},
                      ["IMAGE", "MASK"]),
}
COMBOS = {  # Impact's enum values, in its order
    ("RegionalSampler", "seed_2nd_mode"): ["ignore", "fixed", "seed+seed_2nd",
                                           "seed-seed_2nd", "increment", "decrement",
                                           "randomize"],
    ("RegionalSampler", "additional_mode"): ["DISABLE", "ratio additional", "ratio between"],
    ("RegionalSampler", "additional_sampler"): ["AUTO", "euler", "heun", "heunpp2", "dpm_2",
                                                "dpm_fast", "dpmpp_2m", "ddpm"],
}


def test_classes_are_wired_and_map_to_registered_ops() -> None:
    registry = default_registry()
    assert set(IMPACT_CLASSES) == set(IMPACT)
    for name, cls in IMPACT_CLASSES.items():
        assert CLASSES[name] is cls
        op, _, _, outputs = IMPACT[name]
        assert cls.op == op, name
        spec = registry.get(op)
        assert spec is not None, name
        ports, params = {p.name for p in spec.inputs}, set(spec.params.model_fields)
        for i in cls.inputs:
            assert i.to in (ports if i.is_link else params), (name, i.name)
        assert [t for t, _ in cls.outputs] == outputs, name
        assert {p for _, p in cls.outputs} <= {p.name for p in spec.outputs}, name


@pytest.mark.parametrize("name", sorted(IMPACT))
def test_object_info_matches_impact(name: str, tmp_path: Path) -> None:
    _, order, defaults, outputs = IMPACT[name]
    info = class_info(name, IMPACT_CLASSES[name], default_registry(),
                      Folders(tmp_path, tmp_path, tmp_path))
    assert info["input_order"]["required"] == order
    assert info["output"] == outputs
    for key, default in defaults.items():
        assert info["input"]["required"][key][1]["default"] == default, key
    for (cls, key), values in COMBOS.items():
        if cls == name:
            assert info["input"]["required"][key][0] == values, key


def n(cls: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": cls, "inputs": inputs}


def masks() -> dict[str, Any]:
    """Two half-image masks (left, right) from SolidMask + MaskComposite."""
    return {
        "m0": n("SolidMask", value=0.0, width=64, height=64),
        "m1": n("SolidMask", value=1.0, width=32, height=64),
        "left": n("MaskComposite", destination=["m0", 0], source=["m1", 0], x=0, y=0,
                  operation="add"),
        "right": n("MaskComposite", destination=["m0", 0], source=["m1", 0], x=32, y=0,
                   operation="add"),
    }


def impact_prompt(sampler: dict[str, Any] | None = None) -> dict[str, Any]:
    """KSamplerAdvancedProvider → RegionalPrompt → CombineRegionalPrompts →
    RegionalSamplerAdvanced (or `sampler`), the models and prompts carried in pipes."""
    return {
        "ckpt": n("CheckpointLoaderSimple", ckpt_name="toy-shapes"),
        "pos": n("CLIPTextEncode", text="a grey square", clip=["ckpt", 1]),
        "neg": n("CLIPTextEncode", text="blue", clip=["ckpt", 1]),
        "red": n("CLIPTextEncode", text="a red circle", clip=["ckpt", 1]),
        "green": n("CLIPTextEncode", text="a green circle", clip=["ckpt", 1]),
        "pipe": n("ToBasicPipe", model=["ckpt", 0], clip=["ckpt", 1], vae=["ckpt", 2],
                  positive=["pos", 0], negative=["neg", 0]),
        "pipe_r": n("EditBasicPipe", basic_pipe=["pipe", 0], positive=["red", 0]),
        "pipe_g": n("EditBasicPipe", basic_pipe=["pipe", 0], positive=["green", 0]),
        "base": n("KSamplerAdvancedProvider", cfg=5.0, sampler_name="euler",
                  scheduler="normal", sigma_factor=1.0, basic_pipe=["pipe", 0]),
        "sr": n("KSamplerAdvancedProvider", cfg=7.0, sampler_name="euler",
                scheduler="normal", sigma_factor=1.0, basic_pipe=["pipe_r", 0]),
        "sg": n("KSamplerAdvancedProvider", cfg=6.0, sampler_name="heun",
                scheduler="karras", sigma_factor=1.0, basic_pipe=["pipe_g", 0]),
        **masks(),
        "rp_r": n("RegionalPrompt", mask=["left", 0], advanced_sampler=["sr", 0]),
        "rp_g": n("RegionalPrompt", mask=["right", 0], advanced_sampler=["sg", 0]),
        "rps": n("CombineRegionalPrompts", regional_prompts1=["rp_r", 0],
                 regional_prompts2=["rp_g", 0]),
        "lat": n("EmptyLatentImage", width=64, height=64, batch_size=1),
        "rs": sampler or n(
            "RegionalSamplerAdvanced", add_noise=True, noise_seed=5, steps=3,
            start_at_step=0, end_at_step=10000, overlap_factor=4, restore_latent=True,
            return_with_leftover_noise=False, latent_image=["lat", 0], base_sampler=["base", 0],
            regional_prompts=["rps", 0], additional_mode="ratio between",
            additional_sampler="AUTO", additional_sigma_ratio=0.3),
        "from": n("FromBasicPipe_v2", basic_pipe=["pipe", 0]),
        "dec": n("VAEDecode", samples=["rs", 0], vae=["from", 3]),
        "out": n("PreviewBridge", images=["dec", 0], image=""),
    }


def native(sample: dict[str, Any] | None = None) -> dict[str, Any]:
    """The same graph written natively: sample.sampler bundles, no pipes."""
    def sampler(cfg: float, name: str, sched: str, pos: str) -> dict[str, Any]:
        return {"op": "sample.sampler", "in": {"model": "ckpt.model", "positive": f"{pos}.out",
                                               "negative": "neg.out"},
                "params": {"cfg": cfg, "sampler": name, "scheduler": sched,
                           "sigma_factor": 1.0}}

    def text(t: str) -> dict[str, Any]:
        return {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": t}}

    def solid(v: float, w: int) -> dict[str, Any]:
        return {"op": "mask.solid", "params": {"value": v, "width": w, "height": 64}}

    def comp(x: int) -> dict[str, Any]:
        return {"op": "mask.composite", "in": {"destination": "m0.out", "source": "m1.out"},
                "params": {"x": x, "y": 0, "operation": "add"}}

    return {"format": "graphrt/1", "outputs": {"out": "out.images"}, "nodes": {
        "ckpt": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
        "pos": text("a grey square"), "neg": text("blue"), "red": text("a red circle"),
        "green": text("a green circle"),
        "base": sampler(5.0, "euler", "normal", "pos"),
        "sr": sampler(7.0, "euler", "normal", "red"),
        "sg": sampler(6.0, "heun", "karras", "green"),
        "m0": solid(0.0, 64), "m1": solid(1.0, 32), "left": comp(0), "right": comp(32),
        "rp_r": {"op": "region.prompt", "in": {"mask": "left.out", "sampler": "sr.out"}},
        "rp_g": {"op": "region.prompt", "in": {"mask": "right.out", "sampler": "sg.out"}},
        "rps": {"op": "region.combine", "in": {"prompts": ["rp_r.out", "rp_g.out"]}},
        "lat": {"op": "latent.empty", "params": {"width": 64, "height": 64, "batch": 1}},
        "rs": sample or {
            "op": "sample.regional", "in": {"latent": "lat.out", "base_sampler": "base.out",
                                            "regional_prompts": "rps.out"},
            "params": {"seed": 5, "steps": 3, "start": 0, "end": 10000, "overlap_factor": 4,
                       "noise_mode": "comfy", "legacy": True}},
        "dec": {"op": "latent.decode", "in": {"latent": "rs.out", "vae": "ckpt.vae"}},
        "out": {"op": "image.save", "in": {"images": "dec.out"},
                "params": {"prefix": "previews/preview"}},
    }}


def pixels(root: Path, files: list[str]) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.open(root / f)) for f in files])


def run_both(tmp_path: Path, comfy: dict[str, Any], doc: dict[str, Any]) -> tuple[Any, Any]:
    a = Runtime(device="cpu", output_dir=tmp_path / "a").run(comfy)
    b = Runtime(device="cpu", output_dir=tmp_path / "b").run(doc)
    assert a.ok, (a.failed, a.blocked)
    assert b.ok, (b.failed, b.blocked)
    return pixels(tmp_path / "a", a.outputs["out"]), pixels(tmp_path / "b", b.outputs["out"])


def test_impact_regional_workflow_with_pipes_equals_native(tmp_path: Path) -> None:
    comfy, doc = run_both(tmp_path, impact_prompt(), native())
    assert comfy.shape == (1, 64, 64, 3)
    np.testing.assert_array_equal(comfy, doc)
    assert comfy.std() > 0  # an image, not a blank


def test_regional_sampler_equals_sample_regional_with_base_only_steps(tmp_path: Path) -> None:
    rs = n("RegionalSampler", seed=9, seed_2nd=123, seed_2nd_mode="ignore", steps=3,
           base_only_steps=1, denoise=0.75, samples=["lat", 0], base_sampler=["base", 0],
           regional_prompts=["rps", 0], overlap_factor=4, restore_latent=True,
           additional_mode="ratio between", additional_sampler="AUTO",
           additional_sigma_ratio=0.3)
    # Impact: N' = int(3/0.75) = 4 steps from 1, the first base-only, leftover noise kept
    regional = {"op": "sample.regional", "in": {"latent": "lat.out", "base_sampler": "base.out",
                                                "regional_prompts": "rps.out"},
                "params": {"seed": 9, "steps": 4, "start": 1, "end": 4, "overlap_factor": 4,
                           "base_only_steps": 1, "leftover_noise": True,
                           "noise_mode": "comfy"}}
    comfy, doc = run_both(tmp_path, impact_prompt(rs), native(regional))
    np.testing.assert_array_equal(comfy, doc)


def test_regional_sampler_refuses_a_second_seed_stage(tmp_path: Path) -> None:
    from graphrt.core.errors import InvalidGraph

    rs = n("RegionalSampler", seed=9, seed_2nd=1, seed_2nd_mode="fixed", steps=3,
           base_only_steps=1, denoise=1.0, samples=["lat", 0], base_sampler=["base", 0],
           regional_prompts=["rps", 0])
    with pytest.raises(InvalidGraph, match="seed_2nd_mode"):
        Runtime(device="cpu", output_dir=tmp_path).run(impact_prompt(rs))


def test_pipe_ops_pack_split_and_edit() -> None:
    from graphrt.core.op import NoParams
    from graphrt.ops import pipe

    p = pipe.make(NoParams(), "m", "c", "v", "p", "n")
    assert tuple(pipe.split(NoParams(), p)) == ("m", "c", "v", "p", "n", p)
    assert pipe.edit(NoParams(), p, positive="p2", vae="v2") == ("m", "c", "v2", "p2", "n")


def test_clipspace_name_reads_the_editors_edit_as_an_input_file() -> None:
    """The 2023 editor stored PreviewBridge's edit as a dict; Impact then loaded
    "subfolder/filename [type]" with LoadImage."""
    from graphrt.compat.comfy.classes_impact import clipspace_name

    edit = {"filename": "clipspace-mask-1.5.png", "subfolder": "clipspace", "type": "input",
            "image_hash": 1, "forward_filename": "ComfyUI_00001_.png"}
    assert clipspace_name(edit) == "clipspace/clipspace-mask-1.5.png"
    assert clipspace_name({**edit, "subfolder": ""}) == "clipspace-mask-1.5.png"
    assert clipspace_name({**edit, "type": "temp"}) == "clipspace/clipspace-mask-1.5.png [temp]"
    assert clipspace_name("clipspace/a.png [input]") == "clipspace/a.png"
    assert clipspace_name("") == "" and clipspace_name("$12-0") == "$12-0"


def bridge_prompt(edit: Any) -> dict[str, Any]:
    """example.png through a PreviewBridge whose IMAGE and MASK (as an image) are saved."""
    return {
        "load": n("LoadImage", image="example.png"),
        "pb": n("PreviewBridge", images=["load", 0], image=edit),
        "as_image": n("MaskToImage", mask=["pb", 1]),
        "mask": n("SaveImage", images=["as_image", 0], filename_prefix="mask"),
        "img": n("SaveImage", images=["pb", 0], filename_prefix="img"),
    }


def test_preview_bridge_gives_the_edited_files_image_and_mask(tmp_path: Path) -> None:
    """Impact's PreviewBridge with an edit: the clipspace file read as LoadImage reads it
    (RGB, mask = 1 − alpha); the incoming images are still previewed."""
    from PIL import Image

    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (12, 16, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[2:7, 4:12, 3] = 0  # painted
    rgba[8, 0, 3] = 64  # a soft edge
    (tmp_path / "input" / "clipspace").mkdir(parents=True)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "input" / "clipspace" / "edit.png")
    edit = {"filename": "edit.png", "subfolder": "clipspace", "type": "input"}
    rt = Runtime(device="cpu", input_dir=tmp_path / "input", output_dir=tmp_path / "out")
    result = rt.run(bridge_prompt(edit))
    assert result.ok, (result.failed, result.blocked)
    mask = pixels(tmp_path / "out", result.outputs["mask"])[0]
    np.testing.assert_array_equal(mask[..., 0], 255 - rgba[..., 3])
    np.testing.assert_array_equal(pixels(tmp_path / "out", result.outputs["img"])[0],
                                  rgba[..., :3])
    assert result.outputs["pb"]  # the preview of example.png
    plain = rt.run(bridge_prompt(""))
    assert plain.ok and not pixels(tmp_path / "out", plain.outputs["mask"]).any()


@pytest.mark.parametrize(("edit", "message"), [
    ("$23-0", "another server session"),
    ({"filename": "a.png", "subfolder": "", "type": "temp"}, "not in the input folder"),
])
def test_preview_bridge_refuses_edits_it_cannot_read(edit: Any, message: str,
                                                     tmp_path: Path) -> None:
    from graphrt.core.errors import InvalidGraph

    with pytest.raises(InvalidGraph, match=message):
        Runtime(device="cpu", output_dir=tmp_path).plan(bridge_prompt(edit))


def test_a_missing_edit_file_is_refused_when_planning(tmp_path: Path) -> None:
    from graphrt.core.errors import InvalidGraph

    with pytest.raises(InvalidGraph) as refused:
        Runtime(device="cpu", input_dir=tmp_path, output_dir=tmp_path).plan(
            bridge_prompt("clipspace/missing.png [input]"))
    assert any(i.code == "bad_file" and i.node == "pb" for i in refused.value.issues)
