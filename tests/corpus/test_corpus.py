"""Real ComfyUI workflows from public repositories (tests/corpus/manifest.json) run end to end.

Each file is kept as its repository has it; the test adapts it to the toy models on the API
prompt (a UI-format file is converted first): checkpoints → the built-in toy models, pixel
sizes ÷ 8, batches of 1, at most 4 steps, input images → the built-in example.png, upscalers
→ a tiny ESRGAN, separate VAE files → the toy VAE, LoRAs at strength 0 (whose file ComfyUI
checks but never reads) → a stand-in file. A workflow marked "runs" must run and save
an image; one marked {"blocked_by": X} must be refused with an issue naming class X, so that
the manifest stays honest as classes are added (one that starts to run must be moved to
"runs"). Files run as shipped: an entry's `comfyui_ignores` lists the output nodes
ComfyUI's validation leaves out (an output whose inputs fail validation, such as an
upscaler whose image input the author left unconnected, is skipped and the others run);
graphrt's ComfyUI prompts skip invalid outputs too, and the test checks that exactly those
outputs are dropped (`Plan.dropped_outputs`) and that every other entry drops none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from graphrt import Runtime
from graphrt.compat.comfy.classes import is_output_class
from graphrt.compat.comfy.folding import fold
from graphrt.compat.comfy.node_errors import dropped_node_errors
from graphrt.compat.comfy.ui import to_api
from graphrt.core.errors import Code, InvalidGraph
from tests.real.conftest import TinyModels
from tests.real.tiny import FILES

HERE = Path(__file__).parent
MANIFEST: list[dict[str, Any]] = json.loads((HERE / "manifest.json").read_text())
RUNS = [e for e in MANIFEST if e["expect"] == "runs"]
BLOCKED = [e for e in MANIFEST if e["expect"] != "runs"]

CHECKPOINT_LOADERS = {"CheckpointLoaderSimple", "CheckpointLoader", "unCLIPCheckpointLoader",
                      "ImageOnlyCheckpointLoader"}
PIXELS = {"width", "height", "x", "y", "left", "top", "right", "bottom", "target_width",
          "target_height", "crop_w", "crop_h"}  # scaled ÷ 8, keeping the layout's geometry
MAX_STEPS = 4
UNUSED_LORA = "unused_lora.safetensors"  # stands in for a LoRA applied at strength 0


def _small(pixels: int) -> int:
    return max(8, pixels // 64 * 8) if pixels > 0 else pixels


def toy(ckpt_name: str) -> str:
    return "toy-shapes-refiner" if "refiner" in ckpt_name.lower() else "toy-shapes"


def family(ckpt_name: str) -> str | None:
    """The tiny real-layout family standing in for a checkpoint (None: not SD 1.x / SDXL)."""
    name = ckpt_name.lower()
    if "xl" in name:
        return "sdxl_refiner" if "refiner" in name else "sdxl"
    return "sd1" if any(s in name for s in ("v1-5", "sd15", "sd1.5", "sd-1")) else None


def adapt(prompt: dict[str, Any], checkpoint: Callable[[str], str] = toy) -> dict[str, Any]:
    """The API prompt made tiny, in place: `checkpoint` picks each loader's file, sizes ÷ 8,
    batches of 1, few steps, the built-in input image, the tiny upscaler, the toy VAE, the
    stand-in for a LoRA at strength 0."""
    for node in prompt.values():
        cls, inputs = node["class_type"], node["inputs"]
        if cls in CHECKPOINT_LOADERS and isinstance(inputs.get("ckpt_name"), str):
            inputs["ckpt_name"] = checkpoint(inputs["ckpt_name"])
        for name, value in inputs.items():
            if name in PIXELS and isinstance(value, int) and not isinstance(value, bool):
                inputs[name] = _small(value)
        if isinstance(inputs.get("batch_size"), int):
            inputs["batch_size"] = 1
        steps = inputs.get("steps")
        if isinstance(steps, int) and steps > MAX_STEPS:
            inputs["steps"] = MAX_STEPS
            for name in ("start_at_step", "end_at_step"):  # the same fraction of the steps
                if isinstance(inputs.get(name), int) and inputs[name] < steps:
                    inputs[name] = round(inputs[name] * MAX_STEPS / steps)
        if cls in ("LoadImage", "LoadImageMask"):
            inputs["image"] = "example.png"
        if cls == "UpscaleModelLoader":
            inputs["model_name"] = "tiny_esrgan.safetensors"
        if cls == "VAELoader":  # the toy VAE decodes any 4-channel latent
            inputs["vae_name"] = "toy-shapes"
        if cls == "LoraLoader" and inputs.get("strength_model") == inputs.get(
                "strength_clip") == 0:  # the file must exist, its content is not used
            inputs["lora_name"] = UNUSED_LORA
    return prompt


def upstream(prompt: dict[str, Any], node: str) -> set[str]:
    """`node` and every node it takes a link from, directly or not."""
    seen, todo = set(), [node]
    while todo:
        current = todo.pop()
        if current not in seen and current in prompt:
            seen.add(current)
            todo.extend(str(v[0]) for v in prompt[current]["inputs"].values()
                        if isinstance(v, list) and len(v) == 2 and isinstance(v[1], int))
    return seen


def api_prompt(entry: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The entry's workflow as an API prompt (InvalidGraph when a UI file cannot convert;
    `now` for the editor's %date:…% in file prefixes), its value classes folded so that
    `adapt` sees the sizes and steps they give."""
    doc = json.loads((HERE / "workflows" / entry["file"]).read_text(encoding="utf-8"))
    if entry["format"] == "ui":
        doc, issues = to_api(doc, now=now)
        if doc is None:
            raise InvalidGraph(issues)
    doc, issues = fold(doc)
    if issues:
        raise InvalidGraph(issues)
    return doc


def load(entry: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    return adapt(api_prompt(entry, now))


def checkpoints(entry: dict[str, Any]) -> list[str]:
    return [n["inputs"]["ckpt_name"] for n in api_prompt(entry).values()
            if n["class_type"] in CHECKPOINT_LOADERS]


REAL = [e for e in RUNS if all(family(name) for name in checkpoints(e))]


def write_unused_lora(models: Path) -> None:
    """<models>/loras/unused_lora.safetensors: a LoRA file that patches nothing."""
    import torch
    from safetensors.torch import save_file

    (models / "loras").mkdir(parents=True, exist_ok=True)
    save_file({"unused": torch.zeros(1)}, models / "loras" / UNUSED_LORA)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/input/example.png (64×64, so image inputs stay small) and
    <root>/models/upscale_models/tiny_esrgan.safetensors, <root>/models/loras/<UNUSED_LORA>."""
    import numpy as np
    from PIL import Image

    from tests.ops.samples import write_tiny_esrgan

    root = tmp_path_factory.mktemp("corpus")
    (root / "input").mkdir()
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "input" / "example.png")
    write_tiny_esrgan(root / "models" / "upscale_models", "tiny_esrgan")
    write_unused_lora(root / "models")
    return root


@pytest.mark.parametrize("entry", RUNS, ids=lambda e: e["file"])
def test_workflow_runs_on_the_toy_models(entry: dict[str, Any], folders: Path,
                                         tmp_path: Path) -> None:
    rt = Runtime(device="cpu", models_dir=folders / "models", input_dir=folders / "input",
                 output_dir=tmp_path)
    plan = rt.prepare(load(entry))
    assert set(plan.dropped_outputs) == set(entry.get("comfyui_ignores", ())), {
        name: [str(i) for i in issues] for name, issues in plan.dropped_outputs.items()}
    result = rt.run(plan)
    assert result.ok, result.failed
    saved = [tmp_path / name for names in result.outputs.values() for name in names]
    assert saved and all(p.is_file() for p in saved)


@pytest.mark.parametrize("entry", BLOCKED, ids=lambda e: e["file"])
def test_workflow_is_blocked_by_what_the_manifest_names(entry: dict[str, Any]) -> None:
    """{"blocked_by": X}: an issue names class (or value) X; {"blocked_by_file": F}: the
    workflow needs a model file the corpus does not ship (a LoRA, say) and says so."""
    with pytest.raises(InvalidGraph) as refused:
        Runtime(device="cpu").plan(load(entry))
    issues = refused.value.issues
    if "blocked_by_file" in entry["expect"]:
        name = entry["expect"]["blocked_by_file"]
        assert any(i.code == "bad_file" and name in i.message for i in issues), issues
        return
    blocker = entry["expect"]["blocked_by"]
    assert any(str(i.found).strip("'") == blocker or f"'{blocker}'" in i.message
               for i in issues), [str(i) for i in issues]


@pytest.mark.parametrize("entry", REAL, ids=lambda e: e["file"])
def test_workflow_runs_on_tiny_real_layout_checkpoints(entry: dict[str, Any],
                                                       tiny_models: TinyModels, folders: Path,
                                                       tmp_path: Path) -> None:
    prompt = adapt(api_prompt(entry), lambda name: FILES[family(name) or ""])
    write_unused_lora(tiny_models.models_dir)
    rt = Runtime(device="cpu", models_dir=tiny_models.models_dir, input_dir=folders / "input",
                 output_dir=tmp_path)
    plan = rt.prepare(prompt)
    assert set(plan.dropped_outputs) == set(entry.get("comfyui_ignores", ()))
    result = rt.run(plan)
    assert result.ok, result.failed
    assert result.stats["model_calls"] > 0  # type: ignore[attr-defined]
    assert any(names for names in result.outputs.values())


@pytest.mark.parametrize("entry", [e for e in RUNS if "comfyui_ignores" in e],
                         ids=lambda e: e["file"])
def test_the_outputs_comfyui_ignores_are_dropped_for_their_unconnected_inputs(
        entry: dict[str, Any], folders: Path) -> None:
    """ComfyUI validates each output node with everything it depends on and skips the ones
    that fail; so does graphrt. Each output the entry lists is dropped for a required input
    left unconnected on a node it depends on, and the others are kept."""
    prompt = load(entry)
    rt = Runtime(device="cpu", models_dir=folders / "models", input_dir=folders / "input")
    plan = rt.prepare(prompt)
    assert set(plan.dropped_outputs) == set(entry["comfyui_ignores"])
    for output, issues in plan.dropped_outputs.items():
        assert issues and all(i.code is Code.MISSING_INPUT for i in issues), issues
        assert all((i.source or i.node) in upstream(prompt, output) for i in issues)
    outputs = {k for k, v in prompt.items() if is_output_class(v["class_type"])}
    assert set(plan.outputs) == outputs - set(entry["comfyui_ignores"]) != set()
    classes = {k: v["class_type"] for k, v in prompt.items()}  # what POST /prompt answers
    errors = dropped_node_errors(plan.dropped_outputs, prompt, classes, True)
    assert {o for e in errors.values() for o in e["dependent_outputs"]} == set(
        entry["comfyui_ignores"])
    assert {err["type"] for e in errors.values() for err in e["errors"]} == {
        "required_input_missing"}


def test_the_manifest_covers_both_formats_and_its_files() -> None:
    assert len(MANIFEST) >= 30
    assert {e["format"] for e in MANIFEST} == {"api", "ui"}
    files = {p.name for p in (HERE / "workflows").glob("*.json")}
    assert files == {e["file"] for e in MANIFEST}
    for e in MANIFEST:
        assert e["repo"].count("/") == 1 and len(e["commit"]) == 40 and e["path"]
        assert e["expect"] == "runs" or set(e["expect"]) in ({"blocked_by"},
                                                             {"blocked_by_file"})


@pytest.mark.parametrize("entry", [e for e in MANIFEST if "derived_from" in e],
                         ids=lambda e: e["file"])
def test_a_derived_api_twin_is_its_ui_file_converted(entry: dict[str, Any]) -> None:
    """A `derived_from` file is graphrt's conversion of a UI file of the corpus at
    `converted_at` (what ComfyUI's "Save (API)" writes for it), with the source's repo, path
    and commit."""
    source = next(e for e in MANIFEST if e["file"] == entry["derived_from"])
    assert source["format"] == "ui" and entry["format"] == "api"
    assert {k: source[k] for k in ("repo", "path", "commit")} == {
        k: entry[k] for k in ("repo", "path", "commit")}
    ui = json.loads((HERE / "workflows" / source["file"]).read_text(encoding="utf-8"))
    twin = json.loads((HERE / "workflows" / entry["file"]).read_text(encoding="utf-8"))
    assert to_api(ui, now=datetime.fromisoformat(entry["converted_at"])) == (twin, [])


def twins() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(UI entry, API entry) of one workflow: a PNG's two chunks, or a derived twin."""
    pairs = []
    for api in (e for e in RUNS if e["format"] == "api"):
        ui = next((e for e in RUNS if e["file"] == api.get("derived_from") or (
            e.get("chunk") == "workflow" and api.get("chunk") == "prompt" and
            (e["repo"], e["path"]) == (api["repo"], api["path"]))), None)
        if ui is not None:
            pairs.append((ui, api))
    return pairs


@pytest.mark.parametrize("pair", twins(), ids=lambda p: p[1]["file"])
def test_ui_and_api_twins_plan_to_the_same_keys(pair: tuple[dict[str, Any], dict[str, Any]],
                                                folders: Path) -> None:
    """The editor's document and the prompt it queued (or graphrt's conversion of it) are
    the same work: every node the API prompt runs has the UI file's key."""
    rt = Runtime(device="cpu", models_dir=folders / "models", input_dir=folders / "input")
    at = pair[1].get("converted_at")
    ui = rt.plan(load(pair[0], datetime.fromisoformat(at) if at else None)).plan.keys
    assert ui == rt.plan(load(pair[1])).plan.keys
