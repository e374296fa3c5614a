"""In-process API tests (Starlette TestClient): queue and history management, limits,
object_info, native endpoints, WebSocket bookkeeping, and no torch at startup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from graphrt.compat.comfy.classes import CLASSES
from graphrt.compat.comfy.classes_searge import FOLDED_CLASSES
from graphrt.fronts.server.app import create_app

from .live import ROOT
from .local import local_client, local_config
from .workflows import txt2img


@pytest.fixture
def idle(tmp_path: Path) -> TestClient:
    """A client whose app never started its worker (no lifespan): prompts stay queued."""
    return local_client(create_app(local_config(tmp_path)))


def test_queue_lists_clears_and_deletes_pending(idle: TestClient) -> None:
    ids = [idle.post("/prompt", json={"prompt": txt2img(seed=s), "client_id": "c"}).json()
           ["prompt_id"] for s in range(3)]
    pending = idle.get("/queue").json()["queue_pending"]
    assert [item[1] for item in pending] == ids and [item[0] for item in pending] == [0, 1, 2]
    assert pending[0][3]["client_id"] == "c" and pending[0][4] == ["9"]
    assert idle.get("/prompt").json() == {"exec_info": {"queue_remaining": 3}}
    assert idle.post("/queue", json={"delete": [ids[1]]}).json() == {"removed": 1}
    assert [i[1] for i in idle.get("/queue").json()["queue_pending"]] == [ids[0], ids[2]]
    assert idle.post("/queue", json={"clear": True}).json() == {"removed": 2}
    assert idle.get("/history").json() == {} and idle.get(f"/history/{ids[0]}").json() == {}


def test_a_full_queue_answers_503(tmp_path: Path) -> None:
    client = local_client(create_app(local_config(tmp_path, max_queue=2)))
    answers = [client.post("/prompt", json={"prompt": txt2img(seed=s)}) for s in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 503]
    assert answers[2].json()["error"]["type"] == "queue_full"
    assert answers[2].headers["retry-after"]


@pytest.mark.parametrize(("node", "name", "value", "limit"), [
    ("5", "width", 4096, "max_pixels"), ("3", "steps", 500, "max_steps"),
    ("5", "batch_size", 8, "max_batch")])
def test_limits_refuse_with_node_errors(tmp_path: Path, node: str, name: str, value: int,
                                        limit: str) -> None:
    client = local_client(create_app(local_config(tmp_path, max_pixels=128 * 128, max_steps=100,
                                          max_batch=4)))
    prompt = txt2img()
    prompt[node]["inputs"][name] = value
    body = client.post("/prompt", json={"prompt": prompt}).json()
    (error,) = body["node_errors"][node]["errors"]
    assert error["type"] == "value_bigger_than_max" and "limit" in error["message"]


def test_too_many_nodes(tmp_path: Path) -> None:
    client = local_client(create_app(local_config(tmp_path, max_nodes=5)))
    response = client.post("/prompt", json={"prompt": txt2img()})
    assert response.status_code == 400 and response.json()["error"]["type"] == "too_many_nodes"


def test_object_info_covers_the_supported_classes(idle: TestClient) -> None:
    info = idle.get("/object_info").json()
    assert set(info) == set(CLASSES) | set(FOLDED_CLASSES)  # folded: worked out in translation
    assert info["SeargeIntegerConstant"]["output"] == ["INT"]
    assert info["SeargeSDXLPromptEncoder"]["python_module"] == "custom_nodes.SeargeSDXL"
    ks = info["KSamplerAdvanced"]
    assert ks["input"]["required"]["add_noise"] == [["enable", "disable"],
                                                    {"default": "enable"}]
    assert ks["input"]["required"]["end_at_step"][1]["default"] == 10000
    assert ks["output"] == ["LATENT"] and ks["output_node"] is False
    assert info["SaveImage"]["output_node"] is True
    ckpts = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    assert "toy-shapes" in ckpts
    assert info["LatentCompositeMasked"]["input"]["optional"] == {"mask": ["MASK"]}
    assert set(idle.get("/object_info/KSampler").json()) == {"KSampler"}


def test_native_endpoints(idle: TestClient) -> None:
    ops = {s["name"]: s for s in idle.get("/graphrt/ops").json()}
    assert "sample.steps" in ops and ops["sample.steps"]["params"]["type"] == "object"
    assert idle.get("/graphrt/ops/latent.empty").json()["name"] == "latent.empty"
    assert idle.get("/graphrt/ops/nope").status_code == 404
    native = (ROOT / "graphs" / "txt2img.json").read_text()
    ok = idle.post("/graphrt/validate", content=f'{{"prompt": {native}}}')
    assert ok.json()["valid"] is True
    bad = idle.post("/graphrt/validate", json={"prompt": txt2img(), "args": {"x": 1}})
    assert bad.status_code == 400
    stats = idle.get("/system_stats").json()
    assert stats["system"]["ram_total"] > 0 and stats["devices"]


def test_native_prompt_with_bad_args_names_the_arg(idle: TestClient) -> None:
    native = (ROOT / "graphs" / "txt2img.json").read_text()
    body = f'{{"prompt": {native}, "args": {{"steps": "many"}}}}'
    response = idle.post("/prompt", content=body)
    assert response.status_code == 400
    issues = response.json()["error"]["extra_info"]["issues"]
    assert issues[0]["field"] == "args.steps"


def test_websocket_clients_are_unregistered_when_they_leave(tmp_path: Path) -> None:
    app = create_app(local_config(tmp_path))
    with local_client(app) as client:
        server = app.state.server
        with client.websocket_connect("/ws?clientId=abc") as ws:
            hello = ws.receive_json()
            assert hello["data"]["sid"] == "abc"
            assert server.hub.client_count == 1
        for _ in range(100):
            if server.hub.client_count == 0:
                break
            import time

            time.sleep(0.02)
        assert server.hub.client_count == 0


def test_serving_imports_no_torch_until_a_prompt_runs(tmp_path: Path) -> None:
    code = f"""
import sys, json
from starlette.testclient import TestClient
from graphrt.fronts.cli import _parser
from graphrt.fronts.server.cli import config_from
sys.path.insert(0, {str(ROOT / "tests")!r})
from server.workflows import txt2img
ns = _parser().parse_args(["serve", "--state-dir", {str(tmp_path / "s")!r}])
from graphrt.fronts.server.app import create_app
client = TestClient(create_app(config_from(ns)), base_url="http://127.0.0.1")
assert client.get("/object_info").status_code == 200
assert client.get("/system_stats").status_code == 200
assert client.post("/prompt", json={{"prompt": txt2img()}}).status_code == 200
assert "torch" not in sys.modules, "torch imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_a_failing_node_reports_execution_error(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "garbage.png").write_bytes(b"not a png at all")
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "garbage.png"}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}
    with local_client(create_app(local_config(tmp_path))) as client, \
            client.websocket_connect("/ws?clientId=e") as ws:
        prompt_id = client.post("/prompt", json={"prompt": prompt, "client_id": "e"}
                                ).json()["prompt_id"]
        messages: list[tuple[str, object]] = []
        while not messages or messages[-1] != ("executing", None):
            m = ws.receive_json()
            if m["data"].get("prompt_id") == prompt_id:
                messages.append((m["type"], m["data"].get("node", m["data"].get("node_id"))))
        history = client.get(f"/history/{prompt_id}").json()[prompt_id]
    assert ("execution_error", "1") in messages
    assert history["status"]["status_str"] == "error" and history["graphrt"]["failed"]["1"]
    assert history["graphrt"]["blocked"] == {"2": "1"}


def test_a_missing_checkpoint_is_refused_before_queueing(idle: TestClient) -> None:
    prompt = txt2img()
    prompt["4"]["inputs"]["ckpt_name"] = "missing.safetensors"
    body = idle.post("/prompt", json={"prompt": prompt}).json()
    (error,) = body["node_errors"]["4"]["errors"]
    assert error["extra_info"]["code"] == "bad_file" and "missing" in error["message"]
    assert error["extra_info"]["input_name"] == "ckpt_name"
