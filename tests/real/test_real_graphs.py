"""Every graph in graphs/ runs on the tiny real-layout checkpoints, selected by args, with
every socket connection refused (no network access is even attempted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from graphrt import Runtime
from tests.real.conftest import TinyModels
from tests.real.tiny import FILES

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = sorted((ROOT / "graphs").glob("*.json"))
SMALL = {"width": 64, "height": 64, "scaled_width": 64, "scaled_height": 64, "steps": 4,
         "end_at_step": 2, "image": "small.png"}
CHECKPOINT_ARGS = {"checkpoint": "sd1", "base_checkpoint": "sdxl",
                   "refiner_checkpoint": "sdxl_refiner"}


def real_args(doc: dict, family: str | None = None) -> dict:
    """Args selecting the tiny checkpoints (`family` overrides a single `checkpoint`) and
    small sizes, for whichever of them the graph declares."""
    declared = doc.get("args", {})
    args = {k: v for k, v in SMALL.items() if k in declared}
    for arg, fam in CHECKPOINT_ARGS.items():
        if arg in declared:
            args[arg] = FILES[family if family and arg == "checkpoint" else fam]
    return args


@pytest.fixture()
def small_input(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / "small.png")
    return folder


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _run(tiny_models: TinyModels, tmp_path: Path, small_input: Path, doc: dict,
         args: dict) -> tuple[object, list[Path]]:
    rt = Runtime(models_dir=tiny_models.models_dir, input_dir=small_input,
                 output_dir=tmp_path / "out", device="cpu", strict=True)
    overrides = {f"{node}.{side}": 64 for node, spec in doc["nodes"].items()
                 if spec["op"] == "latent.empty" for side in ("width", "height")
                 if not isinstance(spec.get("params", {}).get(side), dict)}  # fixed sizes
    result = rt.run(doc, args=args, overrides=overrides or None)
    assert result.ok, result.failed
    return result, [tmp_path / "out" / name for name in result.outputs["images"]]


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.stem)
def test_graph_runs_on_tiny_real_checkpoints(path: Path, tmp_path: Path, small_input: Path,
                                             tiny_models: TinyModels,
                                             no_network: list[object]) -> None:
    doc = json.loads(path.read_text())
    args = real_args(doc)
    assert any(a in args for a in CHECKPOINT_ARGS), "graph selects no checkpoint by arg"
    result, images = _run(tiny_models, tmp_path, small_input, doc, args)
    assert images and all(_pixels(p).shape[1] >= 64 for p in images)
    assert result.stats["model_calls"] > 0  # type: ignore[attr-defined]
    assert no_network == []


@pytest.mark.parametrize("family", ["sdxl", "sdxl_refiner"])
def test_txt2img_on_sdxl_checkpoints(family: str, tmp_path: Path, small_input: Path,
                                     tiny_models: TinyModels, no_network: list[object]) -> None:
    """text.encode on an SDXL encoder adds the ADM vector y (1024² sizes, no crop)."""
    doc = json.loads((ROOT / "graphs" / "txt2img.json").read_text())
    _result, images = _run(tiny_models, tmp_path, small_input, doc, real_args(doc, family))
    assert _pixels(images[0]).shape == (64, 64, 3)
    assert no_network == []


def test_img2img_refine_with_a_real_esrgan_file(tmp_path: Path, small_input: Path,
                                                tiny_models: TinyModels,
                                                no_network: list[object]) -> None:
    """sdxl_img2img_refine.json with an upscaler node added: the macro takes an ESRGAN file."""
    doc = json.loads((ROOT / "graphs" / "sdxl_img2img_refine.json").read_text())
    doc["args"]["upscaler"] = {"type": "str", "default": "tiny_esrgan.safetensors"}
    doc["nodes"]["up"] = {"op": "model.load_upscaler", "params": {"name": {"arg": "upscaler"}}}
    doc["nodes"]["refine"]["in"]["upscale_model"] = "up.out"
    args = {**real_args(doc), "scaled_width": 128, "scaled_height": 128}
    result, images = _run(tiny_models, tmp_path, small_input, doc, args)
    assert "up" in result.statuses  # type: ignore[attr-defined]
    assert _pixels(images[0]).shape == (128, 128, 3)
    assert no_network == []


def test_cli_selects_a_real_checkpoint_by_arg(tmp_path: Path, tiny_models: TinyModels) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "graphrt", "run", "graphs/txt2img.json",
         "--models-dir", str(tiny_models.models_dir), "--arg", f"checkpoint={FILES['sd1']}",
         "--arg", "width=64", "--arg", "height=64", "--arg", "steps=2", "--device", "cpu",
         "--out", str(tmp_path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result.get("ok", True)
    assert list(tmp_path.glob("*.png"))
