"""The editor's routes keep the server's rules: user files stay in the user's folder under
the state folder (every attack string, on every userdata operation, bare and under /api),
nothing is written outside the state folder, and the bearer token covers every new route,
its /api twin and the WebSocket (a browser opening /?token=T gets a SameSite cookie)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import ServerConfig

from .local import local_client

SECRET = b"top-secret-contents"
# As a client sends them in the path (the editor URL-encodes a file name once).
ATTACKS = [
    "%2e%2e", "..%2Fsecret.txt", "%2e%2e%2fsecret.txt", "%2E%2E%2F%2E%2E%2Fsecret.txt",
    "workflows%2F..%2F..%2Fqueue.sqlite3", "workflows%2F..%2F..%2F..%2Fsecret.txt",
    "%2Fetc%2Fpasswd", "%2F..%2Fsecret.txt", "..%5Csecret.txt", "workflows%5C..%5C..%5Cx",
    "C%3A%5CWindows%5Cwin.ini", "C%3Asecret.txt", "secret.txt%00.json", "a%0Ab.json",
    "%252e%252e%252fsecret.txt", "workflows%2F%2Fx.json", "%2E", "workflows%2F.",
    "x" * 256, "%2F".join(["d"] * 17), "y" * 1100,
    "link%2Fsecret.txt", "escape.json", "%C3%28bad-utf8.json",
]


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    dirs = {k: tmp_path / "srv" / k for k in ("state", "input", "output", "models")}
    for d in dirs.values():
        d.mkdir(parents=True)
    (tmp_path / "srv" / "secret.txt").write_bytes(SECRET)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return {**dirs, "root": tmp_path}


def make_client(tree: dict[str, Path], **config: object) -> TestClient:
    cfg = ServerConfig(state_dir=tree["state"], input_dir=tree["input"],
                       output_dir=tree["output"], models_dir=tree["models"], device="cpu",
                       **config)  # type: ignore[arg-type]
    client = local_client(create_app(cfg))
    user = tree["state"] / "users" / "default"  # made when the app is
    os.symlink(tree["root"], user / "link")  # a folder link out of the user's folder
    os.symlink(tree["root"] / "secret.txt", user / "escape.json")  # a file link out
    return client


def snapshot(root: Path, user: Path) -> dict[str, str]:
    """Every file outside the user's folder (links not followed) → a digest of it."""
    out = {}
    for here, _dirs, files in os.walk(root, followlinks=False):
        if Path(here) == user or user in Path(here).parents:
            continue
        for name in files:
            path = Path(here, name)
            if name.startswith("queue.sqlite3") or path.is_symlink():
                continue
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _refused(response: object) -> bool:
    status = response.status_code  # type: ignore[attr-defined]
    return status in (400, 403, 404) and SECRET not in response.content  # type: ignore[attr-defined]


@pytest.mark.parametrize("api", ["", "/api"], ids=["bare", "api"])
def test_userdata_refuses_every_attack_string(tree: dict[str, Path], api: str) -> None:
    client = make_client(tree)
    user = tree["state"] / "users" / "default"
    assert client.post(f"{api}/userdata/workflows%2Fok.json", content=b"{}").status_code == 200
    before = snapshot(tree["root"], user)
    base = f"{api}/userdata"
    for attack in ATTACKS:
        tries = [client.get(f"{base}/{attack}"), client.delete(f"{base}/{attack}"),
                 client.post(f"{base}/{attack}?overwrite=true", content=b"pwned"),
                 client.post(f"{base}/workflows%2Fok.json/move/{attack}?overwrite=true"),
                 client.post(f"{base}/{attack}/move/workflows%2Fstolen.json"),
                 client.get(f"{base}?dir={attack}&recurse=true")]
        for response in tries:
            assert _refused(response), (attack, response.request.method, response.status_code)
        unsafe = [r for r in tries if r.status_code == 403]
        assert all(r.json()["error"]["type"] == "unsafe_path" for r in unsafe), attack
        assert all(str(tree["root"]) not in r.text for r in tries), attack
    assert snapshot(tree["root"], user) == before  # nothing outside was written or removed
    assert (tree["root"] / "secret.txt").read_bytes() == SECRET
    assert client.get(f"{base}/workflows%2Fok.json").content == b"{}"  # still there
    assert not (user / "workflows" / "stolen.json").exists()
    listing = client.get(f"{base}?dir=workflows&recurse=true").json()
    assert listing == ["ok.json"]


PIECES = st.sampled_from(["..", ".", "", "/", "\\", "%2e", "%", ":", "C:", "\x00", "\n",
                          "link", "escape.json", "workflows", "a.json", "é", "~", " "])
NAMES = st.lists(PIECES | st.text(max_size=6), min_size=1, max_size=8).map("".join)


def test_any_name_stays_inside_and_never_fails_the_server(tree: dict[str, Path]) -> None:
    client = make_client(tree)
    user = tree["state"] / "users" / "default"
    before = snapshot(tree["root"], user)

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(NAMES, st.booleans())
    def one(name: str, encode_slash: bool) -> None:
        path = quote(name, safe="" if encode_slash else "/")
        for response in (client.post(f"/api/userdata/{path}", content=b"data"),
                         client.get(f"/api/userdata/{path}"),
                         client.get(f"/api/userdata?dir={quote(name, safe='')}"),
                         client.delete(f"/api/userdata/{path}")):
            assert response.status_code < 500, (name, response.text[:200])
            assert SECRET not in response.content and str(tree["root"]) not in response.text

    one()
    assert snapshot(tree["root"], user) == before
    assert (tree["root"] / "secret.txt").read_bytes() == SECRET


def test_listing_skips_links_that_leave_the_folder(tree: dict[str, Path]) -> None:
    client = make_client(tree)
    user = tree["state"] / "users" / "default"
    os.symlink(tree["root"] / "secret.txt", user / "workflows" / "leak.json")
    os.symlink(tree["root"], user / "workflows" / "out")
    assert client.post("/userdata/workflows%2Fmine.json", content=b"1").status_code == 200
    assert client.get("/userdata?dir=workflows&recurse=true").json() == ["mine.json"]
    assert client.get("/userdata/workflows%2Fleak.json").status_code == 403


def test_every_write_lands_in_the_state_folder(tree: dict[str, Path]) -> None:
    client = make_client(tree)
    outside = snapshot(tree["root"], tree["state"])
    client.post("/users", json={"username": "bob"})
    client.post("/api/settings", json={"a": 1})
    client.post("/api/settings/b", json=2)
    client.post("/api/userdata/workflows%2Fa.json", content=b"{}")
    client.post("/api/userdata/workflows%2Fa.json/move/workflows%2Fsub%2Fb.json")
    client.post("/api/userdata/subgraphs%2Fc.json", content=b"{}")
    client.delete("/api/userdata/subgraphs%2Fc.json")
    client.patch("/internal/logs/subscribe", json={"enabled": True, "clientId": "x"})
    client.post("/api/free", json={"free_memory": True})
    assert snapshot(tree["root"], tree["state"]) == outside
    assert (tree["state"] / "users" / "default" / "workflows" / "sub" / "b.json").is_file()


NEW_ROUTES = ["/users", "/settings", "/settings/x", "/userdata?dir=workflows",
              "/userdata/workflows%2Fa.json", "/jobs", "/jobs/x", "/features", "/i18n",
              "/workflow_templates", "/global_subgraphs", "/extensions", "/embeddings",
              "/models", "/models/checkpoints", "/experiment/models",
              "/view_metadata/checkpoints?filename=a.safetensors", "/internal/logs",
              "/internal/logs/raw", "/internal/folder_paths", "/internal/files/input",
              "/system_stats", "/object_info", "/queue", "/history", "/prompt"]
NEW_POSTS = ["/users", "/settings", "/settings/x", "/userdata/a.json", "/jobs/x/cancel",
             "/jobs/cancel", "/free", "/graphrt/plan", "/userdata/a.json/move/b.json"]


def test_the_token_covers_every_route_and_the_websocket(tree: dict[str, Path]) -> None:
    client = make_client(tree, token="s3cret")
    app = client.app
    assert {f"/api{p.partition('?')[0]}" for p in NEW_ROUTES} <= {
        r.path.replace("{file:path}", "workflows%2Fa.json").replace("{setting_id:path}", "x")
        .replace("{job_id}", "x").replace("{folder}", "checkpoints")
        .replace("{directory_type}", "input") for r in app.routes  # type: ignore[attr-defined]
        if isinstance(r, Route)}
    bearer = {"authorization": "Bearer s3cret"}
    for api in ("", "/api"):
        for path in NEW_ROUTES:
            assert client.get(f"{api}{path}").status_code == 401, path
            assert client.get(f"{api}{path}", headers=bearer).status_code != 401, path
        for path in NEW_POSTS:
            assert client.post(f"{api}{path}", json={}).status_code == 401, path
        assert client.delete(f"{api}/userdata/a.json").status_code == 401
        assert client.patch(f"{api}/internal/logs/subscribe", json={}).status_code == 401
    with client:
        for path in ("/ws?clientId=a", "/api/ws?clientId=a"):
            with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(path) as ws:
                ws.receive_json()
            assert closed.value.code == 1008
            with client.websocket_connect(f"{path}&token=s3cret") as ws:
                assert ws.receive_json()["type"] == "status"


def test_a_page_opened_with_the_token_gets_a_same_site_cookie(tree: dict[str, Path]) -> None:
    client = make_client(tree, token="s3cret")
    navigate = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}
    assert "set-cookie" not in client.get("/queue?token=s3cret").headers  # not a page
    client.cookies.clear()
    opened = client.get("/queue?token=s3cret", headers=navigate)
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    name = cookie.split("=", 1)[0]
    assert name.startswith("graphrt_auth_") and "s3cret" not in name
    assert client.get("/api/users").status_code == 200  # the client kept the cookie
    client.cookies.clear()
    assert client.get("/api/users").status_code == 401
    client.cookies.set(name, "wrong")
    assert client.get("/api/users").status_code == 401
    client.cookies.clear()
    client.cookies.set(name, "s3cret")
    assert client.get("/api/users").status_code == 200
    evil = {"origin": "http://evil.example"}
    assert client.post("/api/settings", json={"a": 1}, headers=evil).status_code == 403
    assert client.get("/api/settings", headers={"sec-fetch-site": "cross-site"}
                      ).status_code == 403
    with client, client.websocket_connect("/api/ws?clientId=c") as ws:  # the cookie, no token
        assert ws.receive_json()["type"] == "status"
