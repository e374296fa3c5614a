"""The five seed node classes map to graphrt's macros; progress names the user's node."""

from __future__ import annotations

from pathlib import Path

from graphrt import load_graph
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import ServerConfig

from .local import local_client
from .workflows import TXT2IMG


def split_workflow() -> dict:
    prompt = {k: v for k, v in TXT2IMG.items() if k != "3"}
    prompt["10"] = {"class_type": "CheckpointLoaderSimple",
                    "inputs": {"ckpt_name": "toy-shapes-refiner"}}
    prompt["11"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle",
                                                               "clip": ["10", 1]}}
    prompt["12"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["10", 1]}}
    prompt["3"] = {"class_type": "SeargeSDXLSampler2", "inputs": {
        "base_model": ["4", 0], "base_positive": ["6", 0], "base_negative": ["7", 0],
        "refiner_model": ["10", 0], "refiner_positive": ["11", 0],
        "refiner_negative": ["12", 0], "latent_image": ["5", 0], "noise_seed": 3,
        "steps": 4, "cfg": 5.0, "sampler_name": "euler", "scheduler": "karras",
        "base_ratio": 0.5, "denoise": 1.0}}
    return prompt


def test_seed_classes_translate_to_macros() -> None:
    doc = load_graph(split_workflow())
    node = doc.nodes["3"]
    assert node.op == "sample.split" and node.params["seed"] == 3
    assert node.params["noise_offset"] == 1 and node.in_["refiner_model"] == "10.model"
    unsampler = {"1": {"class_type": "Unsampler", "inputs": {
        "model": ["4", 0], "steps": 10, "end_at_step": 5, "cfg": 1.0, "sampler_name": "euler",
        "scheduler": "karras", "normalize": "enable", "positive": ["6", 0],
        "negative": ["7", 0], "latent_image": ["5", 0]}}}
    full = {**TXT2IMG, **unsampler}
    full["8"] = {**full["8"], "inputs": {**full["8"]["inputs"], "samples": ["1", 0]}}
    assert load_graph(full).nodes["1"].params["normalize"] is True


def test_split_sampler_runs_and_reports_top_level_ids(tmp_path: Path) -> None:
    cfg = ServerConfig(state_dir=tmp_path / "s", output_dir=tmp_path / "o", device="cpu")
    prompt = split_workflow()
    with local_client(create_app(cfg)) as client, \
            client.websocket_connect("/ws?clientId=seed") as ws:
        prompt_id = client.post("/prompt", json={"prompt": prompt, "client_id": "seed"}
                                ).json()["prompt_id"]
        messages = []
        while not messages or messages[-1]["type"] != "executing" or \
                messages[-1]["data"]["node"] is not None:
            m = ws.receive_json()
            if m["data"].get("prompt_id") == prompt_id:
                messages.append(m)
    kinds = [m["type"] for m in messages]
    assert "execution_success" in kinds, messages[-3:]
    named = {m["data"]["node"] for m in messages if m["type"] in ("executing", "progress")}
    assert named - {None} <= set(prompt) and "3" in named
