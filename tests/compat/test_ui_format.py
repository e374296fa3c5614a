"""ComfyUI's UI format (the editor's saved workflows): converted to the API format, then to
native ops; the twin of an API-format prompt plans to the same keys."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graphrt import Runtime
from graphrt.compat.comfy.ui import to_api
from tests.server.workflows import txt2img

LINKS = [  # id, from node, from slot, to node, to slot, type
    [1, 4, 0, 10, 0, "MODEL"], [10, 10, 0, 3, 0, "MODEL"],        # through a Reroute
    [3, 4, 1, 6, 0, "CLIP"], [4, 4, 1, 7, 0, "CLIP"],
    [5, 6, 0, 3, 1, "CONDITIONING"], [6, 7, 0, 3, 2, "CONDITIONING"],
    [7, 5, 0, 3, 3, "LATENT"], [8, 3, 0, 8, 0, "LATENT"], [9, 4, 2, 8, 1, "VAE"],
    [11, 8, 0, 12, 0, "IMAGE"], [12, 12, 0, 9, 0, "IMAGE"],       # through a bypassed node
    [13, 8, 0, 13, 0, "IMAGE"],                                    # into a muted node
    [14, 11, 0, 3, 4, "INT"],                                      # a primitive's steps
]


def node(id_: int, type_: str, widgets: list[Any] | None = None,
         inputs: list[tuple[str, str, int | None]] = (), mode: int = 0,
         outputs: list[str] = ()) -> dict[str, Any]:
    return {"id": id_, "type": type_, "mode": mode, "pos": [0, 0], "size": [200, 100],
            "flags": {}, "order": 0, "properties": {"Node name for S&R": type_},
            "inputs": [{"name": n, "type": t, "link": link} for n, t, link in inputs],
            "outputs": [{"name": t, "type": t, "links": []} for t in outputs],
            "widgets_values": widgets or []}


def ui_txt2img(control: Any = "randomize") -> dict[str, Any]:
    """The UI-format twin of tests.server.workflows.txt2img(): same classes and values."""
    api = txt2img()
    k = api["3"]["inputs"]
    nodes = [
        node(3, "KSampler", [k["seed"], control, 99, k["cfg"], k["sampler_name"],
                             k["scheduler"], k["denoise"]],
             [("model", "MODEL", 10), ("positive", "CONDITIONING", 5),
              ("negative", "CONDITIONING", 6), ("latent_image", "LATENT", 7),
              ("steps", "INT", 14)], outputs=["LATENT"]),
        node(4, "CheckpointLoaderSimple", [api["4"]["inputs"]["ckpt_name"]],
             outputs=["MODEL", "CLIP", "VAE"]),
        node(5, "EmptyLatentImage", [64, 64, 1], outputs=["LATENT"]),
        node(6, "CLIPTextEncode", [api["6"]["inputs"]["text"]], [("clip", "CLIP", 3)],
             outputs=["CONDITIONING"]),
        node(7, "CLIPTextEncode", [""], [("clip", "CLIP", 4)], outputs=["CONDITIONING"]),
        node(8, "VAEDecode", [], [("samples", "LATENT", 8), ("vae", "VAE", 9)],
             outputs=["IMAGE"]),
        node(9, "SaveImage", ["ComfyUI"], [("images", "IMAGE", 12)]),
        node(10, "Reroute", [], [("", "*", 1)], outputs=["MODEL"]),
        node(11, "PrimitiveNode", [k["steps"], "fixed"], outputs=["INT"]),
        node(12, "ImageScale", ["nearest-exact", 512, 512, "disabled"],
             [("image", "IMAGE", 11)], mode=4, outputs=["IMAGE"]),
        node(13, "PreviewImage", [], [("images", "IMAGE", 13)], mode=2),
        node(14, "Note", ["a note"]),
    ]
    return {"last_node_id": 14, "last_link_id": 14, "nodes": nodes, "links": copy.deepcopy(LINKS),
            "groups": [], "config": {}, "extra": {}, "version": 0.4}


def test_the_ui_twin_converts_to_the_api_prompt() -> None:
    prompt, issues = to_api(ui_txt2img())
    assert issues == [] and prompt is not None
    api = txt2img()
    assert {k: v["inputs"] for k, v in prompt.items()} == {k: v["inputs"] for k, v in api.items()}


@pytest.mark.parametrize("control", ["randomize", "fixed", True, False])
def test_ui_and_api_twins_plan_to_the_same_keys(control: Any) -> None:
    rt = Runtime(device="cpu")
    ui_keys = rt.plan(ui_txt2img(control)).plan.keys
    api_keys = rt.plan(txt2img()).plan.keys
    assert ui_keys == api_keys


def test_links_written_as_objects_convert_alike() -> None:
    doc = ui_txt2img()
    doc["links"] = [{"id": a, "origin_id": b, "origin_slot": c, "target_id": d,
                     "target_slot": e, "type": t} for a, b, c, d, e, t in doc["links"]]
    assert to_api(doc) == to_api(ui_txt2img())


def test_a_file_without_control_values_keeps_its_widgets_aligned() -> None:
    doc = ui_txt2img()
    sampler = doc["nodes"][0]
    del sampler["widgets_values"][1]  # files from before control_after_generate
    prompt, _ = to_api(doc)
    assert prompt is not None and prompt["3"]["inputs"]["cfg"] == txt2img()["3"]["inputs"]["cfg"]


def test_the_run_writes_the_image(tmp_path: Path) -> None:
    result = Runtime(device="cpu", output_dir=tmp_path).run(ui_txt2img())
    assert result.ok and (tmp_path / result.outputs["9"][0]).is_file()


def test_an_unknown_class_names_the_format_the_node_and_the_class(tmp_path: Path) -> None:
    doc = ui_txt2img()
    doc["nodes"][2]["type"] = "FancyLatentMaker"
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-m", "graphrt", "validate", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (issue,) = json.loads(proc.stdout)["issues"]
    assert issue["node"] == "5" and issue["found"] == "FancyLatentMaker"
    assert "UI-format" in issue["message"] and "FancyLatentMaker" in issue["message"]


def test_a_png_workflow_chunk_loads(tmp_path: Path) -> None:
    import torch

    from graphrt.ops.kernels.imaging import png_bytes

    path = tmp_path / "shared.png"
    path.write_bytes(png_bytes(torch.zeros(8, 8, 3), {"workflow": json.dumps(ui_txt2img())}))
    rt = Runtime(device="cpu")
    assert rt.plan(path).plan.keys == rt.plan(txt2img()).plan.keys


def test_the_server_takes_a_ui_workflow_and_names_its_nodes(tmp_path: Path) -> None:
    import time

    from graphrt.fronts.server.app import create_app
    from graphrt.fronts.server.config import ServerConfig
    from tests.server.local import local_client

    config = ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                          input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                          device="cpu")
    bad = ui_txt2img()
    bad["nodes"][0]["widgets_values"][3] = 1000.0  # cfg over its maximum
    with local_client(create_app(config)) as client:
        refused = client.post("/prompt", json={"prompt": bad}).json()
        assert refused["node_errors"]["3"]["class_type"] == "KSampler"
        prompt_id = client.post("/prompt", json={"prompt": ui_txt2img()}).json()["prompt_id"]
        for _ in range(600):
            history = client.get(f"/history/{prompt_id}").json()
            if prompt_id in history:
                break
            time.sleep(0.05)
    entry = history[prompt_id]
    assert entry["status"]["status_str"] == "success" and entry["outputs"]["9"]["images"]
