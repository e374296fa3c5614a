"""The routes the ComfyUI editor calls, each in ComfyUI's shape (status codes, JSON keys), and
each both as itself and under /api, in process (docs/editor.md)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient

from graphrt.compat.comfy.object_info import PACKS
from graphrt.fronts.server import frontend
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import Limits
from graphrt.fronts.server.routes_files import shipped_inputs

from .local import local_client, local_config
from .workflows import txt2img

PREFIXES = pytest.mark.parametrize("api", ["", "/api"], ids=["bare", "api"])
CORE_MODULES = ("nodes", "comfy_extras", "comfy_api_nodes")  # the editor's "core" sources




@pytest.fixture
def app(tmp_path: Path) -> Any:
    return create_app(local_config(tmp_path))


@pytest.fixture
def idle(app: Any) -> TestClient:
    """No lifespan: the worker never starts, so queued prompts stay pending."""
    return local_client(app)


def safetensors(path: Path, metadata: dict[str, str] | None) -> None:
    header: dict[str, Any] = {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"\0\0\0\0")


def test_every_route_is_also_served_under_api(app: Any) -> None:
    own = [r for r in app.routes if isinstance(r, Route | WebSocketRoute)  # not the editor's
           and r.endpoint.__module__ != frontend.__name__ and r.path not in ("/", "/api/")]
    bare = {(r.path, frozenset(getattr(r, "methods", None) or ())) for r in own
            if not r.path.startswith("/api/")}
    under = {(r.path.removeprefix("/api"), frozenset(getattr(r, "methods", None) or ()))
             for r in own if r.path.startswith("/api/")}
    assert bare == under and len(bare) > 40
    assert ("/ws", frozenset()) in under


@PREFIXES
def test_users_single_user_like_comfyui(idle: TestClient, api: str) -> None:
    assert idle.get(f"{api}/users").json() == {"storage": "server", "migrated": True}
    made = idle.post(f"{api}/users", json={"username": "Ann Lee"})
    assert made.status_code == 200 and made.json().startswith("Ann-Lee_")
    again = idle.post(f"{api}/users", json={"username": "Ann Lee"})
    assert again.status_code == 400 and again.json() == {"error": "Duplicate username."}
    for body in ({}, {"username": ""}, {"username": 3}, [1]):
        response = idle.post(f"{api}/users", json=body)
        assert response.status_code == 400 and "error" in response.json()


@PREFIXES
def test_settings_all_and_one(idle: TestClient, api: str, tmp_path: Path) -> None:
    assert idle.get(f"{api}/settings").json() == {}
    saved = idle.post(f"{api}/settings", json={"Comfy.A": 1, "Comfy.B": "x"})
    assert saved.status_code == 200
    assert idle.post(f"{api}/settings/Comfy.A", json=[2, 3]).status_code == 200
    assert idle.get(f"{api}/settings").json() == {"Comfy.A": [2, 3], "Comfy.B": "x"}
    assert idle.get(f"{api}/settings/Comfy.B").json() == "x"
    assert idle.get(f"{api}/settings/Nope").json() is None
    assert idle.post(f"{api}/settings", content=b"{not json").status_code == 400
    assert idle.post(f"{api}/settings", json=[1]).status_code == 400
    stored = tmp_path / "state" / "users" / "default" / "comfy.settings.json"
    assert json.loads(stored.read_text())["Comfy.B"] == "x"


def test_settings_are_bounded(tmp_path: Path) -> None:
    client = local_client(create_app(local_config(tmp_path, max_settings_bytes=200)))
    assert client.post("/settings/big", json="x" * 300).status_code == 413
    assert client.get("/settings").json() == {}


@PREFIXES
def test_userdata_save_list_read_move_delete(idle: TestClient, api: str) -> None:
    base = f"{api}/userdata"
    assert idle.get(f"{base}?dir=workflows&recurse=true&split=false&full_info=true").json() == []
    first = idle.post(f"{base}/workflows%2Fa.json?overwrite=false&full_info=true",
                      content=b'{"nodes": []}')
    assert first.status_code == 200
    assert set(first.json()) == {"path", "size", "modified", "created"}
    assert first.json()["path"] == "workflows/a.json" and first.json()["size"] == 13
    assert idle.post(f"{base}/workflows%2Fa.json?overwrite=false", content=b"{}"
                     ).status_code == 409
    assert idle.post(f"{base}/workflows%2Fa.json", content=b"{}").json() == "workflows/a.json"
    assert idle.post(f"{base}/workflows%2Fsub%2Fb.json", content=b"[]").status_code == 200
    read = idle.get(f"{base}/workflows%2Fa.json")
    assert read.content == b"{}" and read.headers["x-content-type-options"] == "nosniff"
    assert read.headers["content-disposition"] == "attachment"
    listing = f"{base}?dir=workflows"
    assert idle.get(listing).json() == ["a.json"]
    assert idle.get(f"{listing}&recurse=true").json() == ["a.json", "sub/b.json"]
    assert idle.get(f"{listing}&recurse=true&split=true").json() == [
        ["a.json", "a.json"], ["sub/b.json", "sub", "b.json"]]
    full = idle.get(f"{listing}&recurse=true&full_info=true").json()
    assert [f["path"] for f in full] == ["a.json", "sub/b.json"] and full[0]["size"] == 2
    moved = idle.post(f"{base}/workflows%2Fa.json/move/workflows%2Fc.json?full_info=true")
    assert moved.status_code == 200 and moved.json()["path"] == "workflows/c.json"
    assert idle.post(f"{base}/workflows%2Fsub%2Fb.json/move/workflows%2Fc.json?overwrite=false"
                     ).status_code == 409
    assert idle.post(f"{base}/workflows%2Fgone.json/move/workflows%2Fd.json").status_code == 404
    assert idle.delete(f"{base}/workflows%2Fc.json").status_code == 204
    assert idle.delete(f"{base}/workflows%2Fc.json").status_code == 404
    assert idle.get(f"{base}/workflows%2Fc.json").status_code == 404
    assert idle.get(f"{base}?dir=nothing").status_code == 404
    assert idle.get(base).status_code == 400
    css = idle.get(f"{base}/user.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert idle.get(f"{base}/comfy.templates.json").json() == []


def test_userdata_is_bounded(tmp_path: Path) -> None:
    client = local_client(create_app(local_config(tmp_path, max_userdata_file_bytes=100,
                                            max_userdata_bytes=250, max_userdata_files=4)))
    assert client.post("/userdata/a.json", content=b"x" * 101).status_code == 413
    assert client.post("/userdata/a.json", content=b"x" * 100).status_code == 200
    assert client.post("/userdata/b.json", content=b"x" * 100).status_code == 200
    assert client.post("/userdata/c.json", content=b"x" * 100).status_code == 413  # 300 > 250
    assert client.post("/userdata/b.json", content=b"x" * 50).status_code == 200  # replaces
    assert client.post("/userdata/c.json", content=b"x").status_code == 413  # 5th file
    assert client.get("/userdata?dir=.").status_code == 403


@PREFIXES
def test_jobs_list_page_and_detail(idle: TestClient, api: str) -> None:
    ids = [idle.post("/prompt", json={"prompt": txt2img(seed=s), "extra_data": {
        "extra_pnginfo": {"workflow": {"id": f"wf{s}"}}}}).json()["prompt_id"]
        for s in range(3)]
    answer = idle.get(f"{api}/jobs?status=in_progress,pending&limit=200&offset=0").json()
    assert set(answer) == {"jobs", "pagination"}
    assert answer["pagination"] == {"offset": 0, "limit": 200, "total": 3, "has_more": False}
    jobs = answer["jobs"]
    assert [j["id"] for j in jobs] == ids[::-1]  # newest first
    assert {j["status"] for j in jobs} == {"pending"} and jobs[0]["priority"] == 2
    assert all(isinstance(j["create_time"], int) and j["outputs_count"] == 0 for j in jobs)
    assert jobs[0]["workflow_id"] == "wf2"
    page = idle.get(f"{api}/jobs?limit=1&offset=1&sort_order=asc").json()
    assert [j["id"] for j in page["jobs"]] == [ids[1]] and page["pagination"]["has_more"]
    assert idle.get(f"{api}/jobs?workflow_id=wf1").json()["jobs"][0]["id"] == ids[1]
    assert idle.get(f"{api}/jobs?status=completed,failed,cancelled").json()["jobs"] == []
    for bad in ("status=done", "sort_by=name", "sort_order=up", "limit=0", "limit=x"):
        response = idle.get(f"{api}/jobs?{bad}")
        assert response.status_code == 400 and "error" in response.json(), bad
    detail = idle.get(f"{api}/jobs/{ids[0]}").json()
    assert detail["id"] == ids[0] and detail["status"] == "pending"
    assert detail["workflow"]["prompt"] == txt2img(seed=0)
    assert detail["workflow"]["extra_data"]["extra_pnginfo"]["workflow"]["id"] == "wf0"
    assert detail["outputs"] == {} and "execution_status" in detail
    assert idle.get(f"{api}/jobs/nope").status_code == 404


@PREFIXES
def test_jobs_cancel_one_and_many(idle: TestClient, api: str) -> None:
    ids = [idle.post("/prompt", json={"prompt": txt2img(seed=s)}).json()["prompt_id"]
           for s in range(3)]
    assert idle.post(f"{api}/jobs/{ids[0]}/cancel").json() == {"cancelled": [ids[0]]}
    assert idle.post(f"{api}/jobs/cancel", json={"job_ids": ids[1:]}).json() == {
        "cancelled": ids[1:]}
    assert idle.get("/queue").json()["queue_pending"] == []
    assert idle.post(f"{api}/jobs/nope/cancel").status_code == 404
    for body in ({}, {"job_ids": []}, {"job_ids": [1]}, {"job_ids": ["x"] * 101}):
        assert idle.post(f"{api}/jobs/cancel", json=body).status_code == 400


@PREFIXES
def test_free_drops_the_memory_cache(app: Any, idle: TestClient, api: str) -> None:
    memory = app.state.server.runtime.store.memory
    memory.put("a", [1, 2, 3])
    freed = idle.post(f"{api}/free", json={"unload_models": True, "free_memory": True})
    assert freed.status_code == 200 and freed.json()["freed"]["entries"] == 1
    assert len(memory) == 0
    assert idle.post(f"{api}/free", json={}).json() == {"freed": {"entries": 0, "bytes": 0}}
    assert idle.post(f"{api}/free", content=b"[").status_code == 400


@PREFIXES
def test_fixed_answers(app: Any, idle: TestClient, api: str) -> None:
    features = idle.get(f"{api}/features").json()
    assert features["supports_preview_metadata"] is False
    assert features["max_upload_size"] == Limits().max_body_bytes
    for path in ("/i18n", "/workflow_templates", "/global_subgraphs"):
        assert idle.get(f"{api}{path}").json() == {}, path
    assert idle.get(f"{api}/global_subgraphs/x").status_code == 404
    assert idle.get(f"{api}/extensions").json() == frontend.extension_urls(
        app.state.server.config)


@PREFIXES
def test_model_folders_files_and_metadata(idle: TestClient, api: str, tmp_path: Path) -> None:
    models = tmp_path / "models"
    safetensors(models / "checkpoints" / "mine.safetensors", {"ss_note": "hello"})
    safetensors(models / "checkpoints" / "bare.safetensors", None)
    safetensors(models / "embeddings" / "sub" / "emb.pt", None)
    (models / "custom").mkdir()
    (models / "custom" / "notes.txt").write_text("x")
    folders = idle.get(f"{api}/models").json()
    assert {"checkpoints", "embeddings", "loras", "vae", "upscale_models", "custom"} <= set(
        folders)
    assert idle.get(f"{api}/models/checkpoints").json() == [
        "toy-shapes", "toy-shapes-refiner", "bare.safetensors", "mine.safetensors"]
    assert idle.get(f"{api}/models/custom").json() == []  # not a model file
    assert idle.get(f"{api}/models/nope").status_code == 404
    assert idle.get(f"{api}/embeddings").json() == ["sub/emb"]
    experiment = idle.get(f"{api}/experiment/models").json()
    assert {"name": "checkpoints", "folders": ["<models>/checkpoints"]} in experiment
    assert str(tmp_path) not in json.dumps(experiment)
    assert idle.get(f"{api}/experiment/models/checkpoints").json()[0] == {
        "name": "toy-shapes", "pathIndex": 0}
    meta = f"{api}/view_metadata/checkpoints?filename="
    assert idle.get(f"{meta}mine.safetensors").json() == {"ss_note": "hello"}
    for name in ("bare.safetensors", "toy-shapes", "missing.safetensors"):
        response = idle.get(f"{meta}{name}")
        assert response.status_code == 404 and response.content == b"", name
    assert idle.get(f"{meta}..%2F..%2Fx.safetensors").status_code == 400


@PREFIXES
def test_internal_routes(idle: TestClient, api: str, tmp_path: Path) -> None:
    assert isinstance(idle.get(f"{api}/internal/logs").json(), str)
    raw = idle.get(f"{api}/internal/logs/raw").json()
    assert set(raw) == {"entries", "size"} and set(raw["size"]) == {"cols", "rows"}
    subscribe = f"{api}/internal/logs/subscribe"
    assert idle.patch(subscribe, json={"enabled": True, "clientId": "c1"}).status_code == 200
    assert idle.patch(subscribe, json={"enabled": True}).status_code == 400
    paths = idle.get(f"{api}/internal/folder_paths").json()
    assert paths["checkpoints"] == ["<models>/checkpoints"]
    assert str(tmp_path) not in json.dumps(paths)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "mine.png").write_bytes(b"x")
    assert idle.get(f"{api}/internal/files/input").json() == ["mine.png", "example.png"]
    assert idle.get(f"{api}/internal/files/output").json() == []
    assert idle.get(f"{api}/internal/files/models").status_code == 400


@PREFIXES
def test_system_stats_has_what_the_editor_reads(idle: TestClient, api: str) -> None:
    system = idle.get(f"{api}/system_stats").json()
    assert all(isinstance(system["system"][k], str) for k in (
        "os", "python_version", "pytorch_version", "comfyui_version"))
    assert isinstance(system["system"]["embedded_python"], bool)
    assert system["system"]["ram_total"] > 0
    assert all(isinstance(a, str) for a in system["system"]["argv"])
    assert {"name", "type", "vram_total", "vram_free"} <= set(system["devices"][0])


@PREFIXES
def test_builtin_inputs_and_models_are_offered_and_served(idle: TestClient, api: str,
                                                          tmp_path: Path) -> None:
    info = idle.get(f"{api}/object_info").json()
    assert "example.png" in info["LoadImage"]["input"]["required"]["image"][0]
    assert "toy-shapes" in info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    shipped = (shipped_inputs() / "example.png").read_bytes()
    view = idle.get(f"{api}/view?filename=example.png&type=input")
    assert view.status_code == 200 and view.content == shipped
    assert view.headers["content-type"] == "image/png"
    assert idle.get(f"{api}/view?filename=example.png&type=output").status_code == 404
    assert idle.get(f"{api}/view?filename=example.png&type=input&subfolder=x").status_code == 404
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "example.png").write_bytes(b"mine")
    assert idle.get(f"{api}/view?filename=example.png&type=input").content == b"mine"


def test_core_classes_get_no_pack_badge(idle: TestClient) -> None:
    """The editor badges a class as a custom pack's unless its python_module starts with
    one of its core modules (nodes, comfy_extras, comfy_api_nodes)."""
    info = idle.get("/api/object_info").json()
    for name, node in info.items():
        top = node["python_module"].split(".")[0]
        if name in PACKS:
            assert node["python_module"] == f"custom_nodes.{PACKS[name]}", name
        else:
            assert top in CORE_MODULES, (name, node["python_module"])


@PREFIXES
def test_plan_without_running(idle: TestClient, api: str) -> None:
    answer = idle.post(f"{api}/graphrt/plan", json={"prompt": txt2img(steps=4)})
    assert answer.status_code == 200
    plan = answer.json()
    assert set(plan["by_node"]) == set(txt2img())
    assert {n["status"] for n in plan["by_node"].values()} == {"execute"}
    assert plan["by_node"]["3"]["model_calls"] == 4 and plan["summary"]["model_calls"] == 4
    assert plan["summary"]["execute"] == len(plan["nodes"]) == 7
    assert idle.get("/queue").json()["queue_pending"] == []  # nothing was queued
    bad = txt2img()
    bad["3"]["inputs"]["steps"] = -1
    refused = idle.post(f"{api}/graphrt/plan", json={"prompt": bad})
    assert refused.status_code == 400 and "3" in refused.json()["node_errors"]
    assert idle.post(f"{api}/graphrt/plan", json={"nope": 1}).status_code == 400


def test_plan_of_a_macro_sums_its_unrolled_nodes(idle: TestClient) -> None:
    doc = json.loads((Path(__file__).parents[2] / "graphs" / "two_samplers_for_mask.json")
                     .read_text())
    plan = idle.post("/api/graphrt/plan", json={"prompt": doc, "args": {"steps": 4}}).json()
    pair = plan["by_node"]["pair"]
    unrolled = [n for n in plan["nodes"] if n["source"] == "pair"]
    assert pair["nodes"] == len(unrolled) > 4 and pair["status"] == "execute"
    assert pair["model_calls"] == sum(n["model_calls"] for n in unrolled) > 0
    assert all(n["node"].startswith("pair/") for n in unrolled)


def test_websocket_under_api_answers_feature_flags(app: Any) -> None:
    with local_client(app) as client, client.websocket_connect("/api/ws?clientId=ed") as ws:
        assert ws.receive_json()["data"]["sid"] == "ed"
        ws.send_text(json.dumps({"type": "feature_flags", "data": {"x": True}}))
        flags = ws.receive_json()
        assert flags["type"] == "feature_flags"
        assert flags["data"]["max_upload_size"] == Limits().max_body_bytes
