"""ComfyUI API-format workflows used by the server tests (tiny: 64×64, few steps)."""

from __future__ import annotations

import copy
from typing import Any

TXT2IMG: dict[str, Any] = {
    "3": {"class_type": "KSampler", "inputs": {
        "seed": 7, "steps": 3, "cfg": 5.0, "sampler_name": "euler", "scheduler": "karras",
        "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
        "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "toy-shapes"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64,
                                                       "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle on the left",
                                                     "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI",
                                                "images": ["8", 0]}},
}


def txt2img(seed: int = 7, steps: int = 3, prefix: str = "ComfyUI") -> dict[str, Any]:
    """A copy of TXT2IMG with its seed, step count and file prefix set."""
    doc = copy.deepcopy(TXT2IMG)
    doc["3"]["inputs"].update(seed=seed, steps=steps)
    doc["9"]["inputs"]["filename_prefix"] = prefix
    return doc


def txt2img_renamed(rename: dict[str, str]) -> dict[str, Any]:
    """txt2img() with node ids renamed (and the links to them), as the editor's group nodes
    and subgraphs name the nodes they hold."""
    out = {}
    for key, value in txt2img().items():
        for name, v in value["inputs"].items():
            if isinstance(v, list):
                value["inputs"][name] = [rename.get(v[0], v[0]), v[1]]
        out[rename.get(key, key)] = value
    return out
