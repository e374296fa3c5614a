"""Impact Pack's example workflows for its seed nodes run end to end, in both formats.

`test/advanced-sampler.json` (TwoAdvancedSamplersForMask) and `test/regional_prompt.json`
(RegionalSampler), kept byte for byte in tests/corpus/workflows, cannot run as shipped. The
smallest repair the missing pieces force is made here, never in the corpus files:

advanced-sampler.json
- Both KSamplerAdvancedProviders store `[8, "fixed", "normal"]`: "fixed" is the control value
  of the seed widget the provider had when the file was first saved (Impact 70aed3b stores
  `[seed, "fixed", 8, "euler", "normal"]`), read by position into today's `cfg,
  sampler_name, scheduler`. It becomes "euler": the value the same file had before, and the
  first entry of ComfyUI's sampler list, which the editor puts in place of an out-of-list
  combo value when it resets one (it does so only for its default graph; a loaded workflow
  keeps "fixed", which ComfyUI's validation refuses).
- The PreviewBridge's `image` is the editor's mask edit, a clipspace file in the input
  folder (`clipspace/clipspace-mask-348148.69999999925.png`) that the repository lacks; the
  test writes it: the preview's size, opaque grey, painted (alpha 0, mask 1) in a rectangle.
  graphrt's PreviewBridge reads a named edit on every run; Impact applies it only when the
  same images come back in the same server session (a fresh server's first run gives an
  empty mask), so this runs the file as its author last ran it.

regional_prompt.json
- `## make-basic_pipe [2c8c61]` (node 5) is a ComfyUI-Workflow-Component whose definition is
  nowhere public. From its widgets (checkpoint, then two prompts) and its BASIC_PIPE output it
  becomes CheckpointLoaderSimple (36) → CLIPTextEncode ×2 (37: the first prompt, the scene, is
  the positive; 38: "big head, closeup", what the shot avoids, the negative) → ToBasicPipe,
  which keeps id 5 so the component's three links stay. Its `vae_opt` input is unlinked, so
  the pipe carries the checkpoint's VAE (the file's final VAEDecode reads it from the pipe).
- RegionalSampler's widgets `[seed, "randomize", 30, 1, 5]` are in the layout of Impact at the
  file's commit (a6ee100 / b74b7c8: seed, steps, denoise, overlap_factor); read by position
  into today's class they put 1 in `seed_2nd_mode`, which ComfyUI and graphrt refuse. They are
  laid out again by name (steps 30, denoise 1, overlap_factor 5); the inputs added since take
  today's defaults, as a newly placed node shows them (seed_2nd 0, "ignore",
  base_only_steps 2, restore_latent on, "ratio between", "AUTO", 0.3).
- The four LoadImage nodes read painted clipspace masks; the test writes each as a rectangle
  on the adapted latent's pixel size (hair, jacket, tie, skirt, after the region prompts).

Each is then adapted to the toy models as the corpus test does (`adapt`: sizes ÷ 8, at most 4
steps, toy checkpoints), with the clipspace files kept. The API form is
impact_examples/<name>_api.json, which must equal the repaired UI file converted by `to_api`
(for advanced-sampler also the shipped file converted, then repaired in API form). Regenerate
it with `python -m tests.compat.test_impact_examples`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphrt import Runtime
from graphrt.compat.comfy.classes import CLASSES
from graphrt.compat.comfy.ui import to_api
from graphrt.core.errors import InvalidGraph
from tests.corpus.test_corpus import adapt

HERE = Path(__file__).parent / "impact_examples"
CORPUS = Path(__file__).parents[1] / "corpus" / "workflows"
EXAMPLES = ("advanced-sampler", "regional_prompt")
SEED_NODE = {"advanced-sampler": ("27", "sample.masked_pair"),
             "regional_prompt": ("2", "impact.regional_sampler")}
# the seed node's sampler calls at 4 steps: one call for the base-only steps (1 for
# TwoAdvancedSamplersForMask, base_only_steps 2 here), then per step the base and each region
CALLS = {"advanced-sampler": 1 + 3 * (1 + 1), "regional_prompt": 1 + 2 * (1 + 4)}
FINAL = {"advanced-sampler": "25", "regional_prompt": "8"}  # the PreviewImage of the result
Painted = list[tuple[str, tuple[int, int], tuple[int, int, int, int]]]
# (file, pixel size W × H of the adapted image it is painted on, painted box x0, y0, x1, y1)
MASKS: dict[str, Painted] = {
    "advanced-sampler": [("clipspace/clipspace-mask-348148.69999999925.png", (96, 64),
                          (32, 0, 64, 24))],  # the hair, for the "colorful hair" sampler
    "regional_prompt": [
        ("clipspace/clipspace-mask-1641138.7000000002.png", (96, 136), (24, 0, 72, 34)),
        ("clipspace/clipspace-mask-1572044.0999999996.png", (96, 136), (8, 34, 88, 80)),
        ("clipspace/clipspace-mask-1594007.5999999996.png", (96, 136), (40, 34, 56, 72)),
        ("clipspace/clipspace-mask-1351518.png", (96, 136), (16, 80, 80, 124))],
}


def shipped(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / f"impact_pack__{name}.json").read_text("utf-8"))
    return data


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / f"{name}_api.json").read_text("utf-8"))
    return data


def _provider_sampler(doc: dict[str, Any]) -> dict[str, Any]:
    for node in doc["nodes"]:
        if node["type"] == "KSamplerAdvancedProvider" and node["widgets_values"][1] == "fixed":
            node["widgets_values"][1] = "euler"
    return doc


def _component(doc: dict[str, Any]) -> dict[str, Any]:
    """Node 5, the make-basic_pipe component, as the four native nodes it stands for."""
    comp = next(n for n in doc["nodes"] if n["id"] == 5)
    ckpt, positive, negative = comp["widgets_values"]
    assert comp["inputs"] == [{"name": "vae_opt", "type": "VAE", "link": None}]

    def node(nid: int, cls: str, inputs: list[tuple[str, str, int]],
             outputs: list[tuple[str, list[int]]], widgets: list[Any]) -> dict[str, Any]:
        return {"id": nid, "type": cls, "mode": 0, "properties": {}, "widgets_values": widgets,
                "inputs": [{"name": n, "type": t, "link": k} for n, t, k in inputs],
                "outputs": [{"name": t, "type": t, "links": k} for t, k in outputs]}

    doc["nodes"].remove(comp)
    doc["nodes"] += [
        node(36, "CheckpointLoaderSimple", [],
             [("MODEL", [66]), ("CLIP", [67, 68, 69]), ("VAE", [70])], [ckpt]),
        node(37, "CLIPTextEncode", [("clip", "CLIP", 68)], [("CONDITIONING", [71])],
             [positive]),
        node(38, "CLIPTextEncode", [("clip", "CLIP", 69)], [("CONDITIONING", [72])],
             [negative]),
        {**node(5, "ToBasicPipe", [("model", "MODEL", 66), ("clip", "CLIP", 67),
                                   ("vae", "VAE", 70), ("positive", "CONDITIONING", 71),
                                   ("negative", "CONDITIONING", 72)], [], []),
         "outputs": comp["outputs"]}]
    doc["links"] += [[66, 36, 0, 5, 0, "MODEL"], [67, 36, 1, 5, 1, "CLIP"],
                     [68, 36, 1, 37, 0, "CLIP"], [69, 36, 1, 38, 0, "CLIP"],
                     [70, 36, 2, 5, 2, "VAE"], [71, 37, 0, 5, 3, "CONDITIONING"],
                     [72, 38, 0, 5, 4, "CONDITIONING"]]
    doc["last_node_id"], doc["last_link_id"] = 38, 72
    return doc


def _regional_sampler_layout(doc: dict[str, Any]) -> dict[str, Any]:
    """RegionalSampler's values of Impact a6ee100 (seed, steps, denoise, overlap_factor) by
    name, today's defaults for the inputs added since; the seed's control value kept."""
    node = next(n for n in doc["nodes"] if n["type"] == "RegionalSampler")
    seed, control, steps, denoise, overlap = node["widgets_values"]
    era = {"seed": seed, "steps": steps, "denoise": denoise, "overlap_factor": overlap}
    widgets = [i for i in CLASSES["RegionalSampler"].inputs if not i.is_link]
    values = [era.get(i.name, i.default) for i in widgets]
    node["widgets_values"] = [values[0], control, *values[1:]]
    return doc


def repaired(name: str) -> dict[str, Any]:
    """The shipped UI file with the repairs of the module docstring."""
    doc = shipped(name)
    if name == "advanced-sampler":
        return _provider_sampler(doc)
    return _regional_sampler_layout(_component(doc))


def converted(name: str) -> dict[str, Any]:
    prompt, issues = to_api(repaired(name))
    assert prompt is not None, issues
    return prompt


def adapted(prompt: dict[str, Any]) -> dict[str, Any]:
    """The corpus test's adaptation to the toy models, keeping the painted clipspace files
    (it gives every LoadImage the built-in example.png)."""
    prompt = copy.deepcopy(prompt)
    kept = {k: n["inputs"]["image"] for k, n in prompt.items() if n["class_type"] == "LoadImage"}
    adapt(prompt)
    for k, image in kept.items():
        prompt[k]["inputs"]["image"] = image
    return prompt


def paint(input_dir: Path, masks: Painted) -> None:
    """The editor's clipspace masks: RGBA, opaque grey, alpha 0 (mask 1) in the painted box."""
    from PIL import Image

    for file, (w, h), (x0, y0, x1, y1) in masks:
        rgba = np.full((h, w, 4), 128, dtype=np.uint8)
        rgba[..., 3] = 255
        rgba[y0:y1, x0:x1, 3] = 0
        path = input_dir / file
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgba, "RGBA").save(path)


@pytest.fixture(params=EXAMPLES)
def example(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """An example's name and an input folder holding its painted masks."""
    (tmp_path / "input").mkdir()
    paint(tmp_path / "input", MASKS[request.param])
    return request.param, tmp_path


def test_the_shipped_files_are_refused_for_what_the_repairs_mend() -> None:
    prompt, _ = to_api(shipped("advanced-sampler"))
    assert prompt is not None
    with pytest.raises(InvalidGraph) as refused:
        Runtime(device="cpu").plan(adapted(prompt))
    assert {(i.node, str(i.found).strip("'")) for i in refused.value.issues} >= {
        ("13", "fixed"), ("15", "fixed")}
    prompt, issues = to_api(shipped("regional_prompt"))
    assert prompt is None and "## make-basic_pipe [2c8c61]" in issues[0].message
    # the component replaced, the sampler's layout not
    prompt, _ = to_api(_component(shipped("regional_prompt")))
    assert prompt is not None and prompt["2"]["inputs"]["seed_2nd_mode"] == 1
    with pytest.raises(InvalidGraph, match="seed_2nd_mode"):
        Runtime(device="cpu").plan(adapted(prompt))


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_api_form_is_the_repaired_file_converted(name: str) -> None:
    assert converted(name) == fixture(name)


def test_repairing_either_format_gives_the_same_prompt() -> None:
    """advanced-sampler converts as shipped: the API repair of its prompt is the UI repair."""
    prompt, _ = to_api(shipped("advanced-sampler"))
    assert prompt is not None
    for node in prompt.values():
        if node["class_type"] == "KSamplerAdvancedProvider":
            node["inputs"]["sampler_name"] = "euler"
    assert prompt == fixture("advanced-sampler")


def test_the_component_becomes_its_native_nodes() -> None:
    api = fixture("regional_prompt")
    assert api["5"] == {"class_type": "ToBasicPipe", "inputs": {
        "model": ["36", 0], "clip": ["36", 1], "vae": ["36", 2], "positive": ["37", 0],
        "negative": ["38", 0]}}
    assert api["36"]["inputs"] == {"ckpt_name": "SD1.5/epicrealism_naturalSinRC1VAE.safetensors"}
    assert api["37"]["inputs"]["text"].startswith("a photograph of a girl")
    assert api["38"]["inputs"]["text"] == "big head, closeup"
    assert {k: v for k, v in api["2"]["inputs"].items() if not isinstance(v, list)} == {
        "seed": 1019854126263754, "seed_2nd": 0, "seed_2nd_mode": "ignore", "steps": 30,
        "base_only_steps": 2, "denoise": 1, "overlap_factor": 5, "restore_latent": True,
        "additional_mode": "ratio between", "additional_sampler": "AUTO",
        "additional_sigma_ratio": 0.3}


def _run(prompt: dict[str, Any], root: Path) -> tuple[Any, Any]:
    """A fresh runtime (an empty cache) on the example's folders: the same output folder for
    both forms, since a saving node's key names it (and PreviewBridge's outputs feed on)."""
    rt = Runtime(device="cpu", input_dir=root / "input", output_dir=root / "out")
    plan = rt.prepare(prompt)
    return plan, rt.run(plan)


def _pixels(root: Path, files: list[str]) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.open(root / f)) for f in files])


def test_the_example_runs_in_both_formats(example: tuple[str, Path]) -> None:
    name, root = example
    seed_id, seed_op = SEED_NODE[name]
    ui_plan, ui = _run(adapted(converted(name)), root)
    api_plan, api = _run(adapted(fixture(name)), root)
    assert ui_plan.keys == api_plan.keys
    for plan, result in ((ui_plan, ui), (api_plan, api)):
        assert result.ok, (result.failed, result.blocked)
        assert plan.graph.doc.nodes[seed_id].op == seed_op
        calls = [n for n in result.executed if plan.node(n).source == seed_id
                 and plan.node(n).spec.name == "sample.separated"]
        assert len(calls) == CALLS[name], calls
        assert result.stats["model_calls"] > 0
        saved = [root / "out" / f for files in result.outputs.values() for f in files]
        assert saved and all(p.is_file() for p in saved)
        assert result.outputs[FINAL[name]]
    if name == "advanced-sampler":  # the bridge read the painted file, and previewed
        assert ui_plan.node("23").params.image == MASKS[name][0][0]
        assert ui.outputs["23"] and api.outputs["23"]
    final = FINAL[name]
    assert ui.outputs[final] != api.outputs[final]  # two runs, two files
    a, b = _pixels(root / "out", ui.outputs[final]), _pixels(root / "out", api.outputs[final])
    np.testing.assert_array_equal(a, b)
    assert a.std() > 0


def test_the_painted_masks_feed_the_seed_node(example: tuple[str, Path]) -> None:
    """Another painting of the same files changes the keys of the seed node's steps, and
    not those of the nodes that do not read a mask."""
    name, root = example
    seed_id, _ = SEED_NODE[name]

    def keys() -> dict[str, str]:
        rt = Runtime(device="cpu", input_dir=root / "input", output_dir=root / "out")
        return dict(rt.prepare(adapted(fixture(name))).keys)

    before = keys()
    paint(root / "input", [(f, (w, h), (0, 0, w // 2, h // 2)) for f, (w, h), _ in MASKS[name]])
    after = keys()
    changed = {k for k in before if before[k] != after[k]}
    assert any(k.startswith(f"{seed_id}/") for k in changed), changed
    assert not changed & {"4", "16", "36", "14"}  # the checkpoints and empty latents


if __name__ == "__main__":  # regenerate the API forms
    HERE.mkdir(exist_ok=True)
    for example_name in EXAMPLES:
        (HERE / f"{example_name}_api.json").write_text(
            json.dumps(converted(example_name), indent=1, ensure_ascii=False) + "\n", "utf-8")
