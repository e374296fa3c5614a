"""An output PNG carries its graph, args and overrides: running the PNG reruns the image."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from graphrt import InvalidGraph, Runtime, load_graph

ROOT = Path(__file__).resolve().parents[2]
TXT2IMG = ROOT / "graphs" / "txt2img.json"


def test_running_an_output_png_hits_the_cache(tmp_path: Path) -> None:
    rt = Runtime(output_dir=tmp_path, device="cpu")
    args = {"prompt": "a blue square on the right", "seed": 3, "width": 128, "height": 128}
    first = rt.run(TXT2IMG, args=args, overrides={"sample.cfg": 3.0})
    png = tmp_path / first.outputs["images"][0]
    assert rt.plan(png).plan.keys == rt.plan(TXT2IMG, args=args,
                                             overrides={"sample.cfg": 3.0}).plan.keys
    again = rt.run(png)
    assert again.executed == [] and sorted(again.cached) == sorted(first.statuses)
    doc = load_graph(png)
    assert doc.args["prompt"].default == "a blue square on the right"
    assert doc.nodes["sample"].params["cfg"] == 3.0


def test_cli_reruns_a_png(tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    common = ["--cache-dir", str(cache), "--out", str(out), "--json"]
    first = subprocess.run([sys.executable, "-m", "graphrt", "run", str(TXT2IMG), "--arg",
                            "width=64", "--arg", "height=64", "--arg", "steps=4", *common],
                           capture_output=True, text=True, timeout=300, check=True)
    name = json.loads(first.stdout.strip().splitlines()[-1])["outputs"]["images"][0]
    again = subprocess.run([sys.executable, "-m", "graphrt", "run", str(out / name), *common],
                           capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(again.stdout.strip().splitlines()[-1])["executed"] == []


def test_comfyui_png_and_png_without_graph(tmp_path: Path) -> None:
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "toy-shapes"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["1", 1]}},
        "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64,
                                                           "batch_size": 1}},
        "4": {"class_type": "KSampler", "inputs": {
            "model": ["1", 0], "positive": ["2", 0], "negative": ["2", 0], "latent_image": ["3", 0],
            "seed": 1, "steps": 2, "cfg": 1.0, "sampler_name": "euler", "scheduler": "normal",
            "denoise": 1.0}},
        "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["1", 2]}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "x"}},
    }
    info = PngInfo()
    info.add_text("prompt", json.dumps(prompt))
    Image.new("RGB", (8, 8)).save(tmp_path / "comfy.png", pnginfo=info)
    doc = load_graph(tmp_path / "comfy.png")
    assert doc.nodes["1"].op == "model.load_checkpoint"
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    with pytest.raises(InvalidGraph, match="carries no graph"):
        load_graph(tmp_path / "plain.png")
