"""Must-show 7 and the access limits: path traversal on /view, /upload/image and file-name
params is refused; bearer token; body size; CORS only when configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import Limits, ServerConfig

from .local import local_client
from .workflows import txt2img

SECRET = "top-secret-contents"
ATTACKS = [
    "../secret.txt", "../../secret.txt", "../../../../../../etc/passwd", "/etc/passwd",
    "..\\secret.txt", "..\\..\\secret.txt", "sub/../../secret.txt", "./../secret.txt",
    "/../secret.txt", "C:\\Windows\\win.ini", "C:/secret.txt", "secret.txt\x00.png",
    "\\\\server\\share\\secret.txt", "link/secret.txt", "..", "escape.png",
]


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    dirs = {k: tmp_path / "srv" / k for k in ("state", "input", "output", "models")}
    for d in dirs.values():
        d.mkdir(parents=True)
    (tmp_path / "srv" / "secret.txt").write_text(SECRET)
    (tmp_path / "secret.txt").write_text(SECRET)
    os.symlink(tmp_path, dirs["output"] / "link")  # a link out of the folder
    os.symlink(tmp_path / "secret.txt", dirs["output"] / "escape.png")
    os.symlink(tmp_path, dirs["input"] / "link")
    return dirs


def make_client(folders: dict[str, Path], **config: object) -> TestClient:
    cfg = ServerConfig(state_dir=folders["state"], input_dir=folders["input"],
                       output_dir=folders["output"], models_dir=folders["models"],
                       device="cpu", **config)  # type: ignore[arg-type]
    return local_client(create_app(cfg))


@pytest.fixture
def client(folders: dict[str, Path]) -> Iterator[TestClient]:
    with make_client(folders) as c:
        yield c


def _refused(response: object) -> bool:
    status = response.status_code  # type: ignore[attr-defined]
    return status in (400, 404) and SECRET not in response.text  # type: ignore[attr-defined]


def test_7_view_refuses_every_traversal(client: TestClient) -> None:
    assert len(ATTACKS) >= 10
    for attack in ATTACKS:
        for kind in ("output", "input", "temp"):
            assert _refused(client.get("/view", params={"filename": attack, "type": kind})), \
                (attack, kind)
            assert _refused(client.get("/view", params={"filename": "secret.txt",
                                                        "subfolder": attack, "type": kind})), \
                (attack, kind)
    for kind in ("../", "/etc", "models", "cache"):
        assert _refused(client.get("/view", params={"filename": "secret.txt", "type": kind}))


def test_7_upload_refuses_every_traversal(client: TestClient, folders: dict[str, Path],
                                          tmp_path: Path) -> None:
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    for attack in ATTACKS:
        if attack == "escape.png":  # a symlink only in <output>; a plain name here
            continue
        for name, subfolder in ((attack + ".png", ""), ("ok.png", attack)):
            response = client.post("/upload/image", files={"image": (name, b"\x89PNG")},
                                   data={"subfolder": subfolder, "type": "input"})
            assert response.status_code == 400, (name, subfolder, response.text)
    response = client.post("/upload/image", files={"image": ("ok.png", b"\x89PNG")},
                           data={"type": "../state"})
    assert response.status_code == 400
    after = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert after == before  # nothing written anywhere


def test_7_file_name_params_are_refused_before_queueing(client: TestClient) -> None:
    for attack in ATTACKS[:12]:
        load = {"1": {"class_type": "LoadImage", "inputs": {"image": attack}},
                "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0],
                                                            "filename_prefix": attack}}}
        body = client.post("/prompt", json={"prompt": load}).json()
        assert "1" in body["node_errors"] or "2" in body["node_errors"], attack
        for node, name, value in (("4", "ckpt_name", attack),
                                  ("9", "filename_prefix", "../../" + attack)):
            prompt = txt2img()
            prompt[node]["inputs"][name] = value
            response = client.post("/prompt", json={"prompt": prompt})
            assert response.status_code == 400, attack
            (error,) = response.json()["node_errors"][node]["errors"]
            assert error["extra_info"]["input_name"] == name, (attack, error)
    assert client.get("/queue").json() == {"queue_running": [], "queue_pending": []}


def test_upload_then_load_image_round_trip(client: TestClient, folders: dict[str, Path]) -> None:
    png = (Path(__file__).resolve().parents[2] / "graphs" / "input" / "example.png").read_bytes()
    first = client.post("/upload/image", files={"image": ("photo.png", png)},
                        data={"subfolder": "mine"}).json()
    again = client.post("/upload/image", files={"image": ("photo.png", png)},
                        data={"subfolder": "mine"}).json()
    assert first == {"name": "photo.png", "subfolder": "mine", "type": "input"}
    assert again["name"] == "photo (1).png"
    assert (folders["input"] / "mine" / "photo.png").read_bytes() == png
    view = client.get("/view", params={"filename": "photo.png", "subfolder": "mine",
                                       "type": "input"})
    assert view.content == png
    info = client.get("/object_info/LoadImage").json()["LoadImage"]
    assert "mine/photo.png" in info["input"]["required"]["image"][0]


def test_bearer_token_is_required_when_configured(folders: dict[str, Path]) -> None:
    with make_client(folders, token="s3cret") as c:
        assert c.get("/queue").status_code == 401
        assert c.get("/queue", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/queue", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/queue?token=s3cret").status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed, \
                c.websocket_connect("/ws?clientId=a") as ws:
            ws.receive_json()
        assert closed.value.code == 1008
        with c.websocket_connect("/ws?clientId=a&token=s3cret") as ws:
            assert ws.receive_json()["type"] == "status"


def test_oversized_bodies_get_413(folders: dict[str, Path]) -> None:
    with make_client(folders, limits=Limits(max_body_bytes=10_000)) as c:
        big = {"prompt": txt2img(), "client_id": "x" * 20_000}
        assert c.post("/prompt", json=big).status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
            for _ in range(20):
                yield b" " * 1000

        assert c.post("/prompt", content=chunks()).status_code == 413
        assert c.post("/prompt", json={"prompt": txt2img()}).status_code == 200


def test_no_cors_unless_configured(folders: dict[str, Path]) -> None:
    origin = {"Origin": "http://evil.example"}
    with make_client(folders) as c:
        assert "access-control-allow-origin" not in c.get("/queue", headers=origin).headers
    with make_client(folders, cors_origins=("http://app.example",)) as c:
        ok = c.get("/queue", headers={"Origin": "http://app.example"})
        assert ok.headers["access-control-allow-origin"] == "http://app.example"
        assert "access-control-allow-origin" not in c.get("/queue", headers=origin).headers
