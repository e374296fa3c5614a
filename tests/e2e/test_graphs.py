"""Every graph in graphs/ runs as it is on the toy models; keys are pinned by golden files."""

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

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = sorted((ROOT / "graphs").glob("*.json"))
GOLDEN = ROOT / "tests" / "golden" / "keys.json"


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.stem)
def test_graph_runs_then_reruns_from_cache(path: Path, tmp_path: Path) -> None:
    rt = Runtime(output_dir=tmp_path, device="cpu", strict=True)
    first = rt.run(path)
    assert first.ok, first.failed
    for name in first.outputs["images"]:
        with Image.open(tmp_path / name) as img:
            assert img.size[0] >= 64 and "graphrt" in img.text
    again = rt.run(path)
    assert again.executed == [] and sorted(again.cached) == sorted(first.statuses)
    assert again.stats["model_calls"] == 0


def test_golden_keys() -> None:
    """Pinned keys of every graph: an unintended change in hashing, params or op versions
    fails here. After an intended change: GRAPHRT_UPDATE_GOLDEN=1 pytest tests/e2e."""
    rt = Runtime(output_dir="/golden/output", input_dir="/golden/input", device="cpu")
    keys = {p.stem: rt.plan(p).plan.keys for p in GRAPHS}
    if os.environ.get("GRAPHRT_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(keys, indent=1, sort_keys=True) + "\n")
    assert keys == json.loads(GOLDEN.read_text())


def test_one_param_changes_exactly_its_descendants() -> None:
    rt = Runtime()
    base = rt.plan(ROOT / "graphs" / "txt2img.json").plan.keys
    new = rt.plan(ROOT / "graphs" / "txt2img.json", args={"cfg": 3.0}).plan.keys
    assert {n for n in base if base[n] != new[n]} == {"sample", "decode", "save"}
    neg = rt.plan(ROOT / "graphs" / "txt2img.json", overrides={"neg.text": "blue"}).plan.keys
    assert {n for n in base if base[n] != neg[n]} == {"neg", "sample", "decode", "save"}


def test_txt2img_cli_puts_red_on_the_left(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "graphrt", "run", "graphs/txt2img.json", "--arg",
         "prompt=a red circle on the left", "--out", str(tmp_path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["failed"] == {} and result["stats"]["model_calls"] == 20
    (name,) = result["outputs"]["images"]
    rgb = np.asarray(Image.open(tmp_path / name).convert("RGB")).astype(float) / 255
    red = (rgb[..., 0] > 0.6) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)
    assert red.sum() > 0.02 * red.size
    cols = np.nonzero(red)[1]
    assert cols.max() < rgb.shape[1] / 2
    # the graph and its args are embedded, so the output can be rerun
    meta = json.loads(Image.open(tmp_path / name).text["graphrt"])
    assert meta["args"]["prompt"] == "a red circle on the left"
    assert meta["graph"]["nodes"]["sample"]["op"] == "sample.steps"
