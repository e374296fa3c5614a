"""Break 1: cross-site requests and DNS rebinding. Every route and the WebSocket check Host
and Origin: a page on another origin can neither queue nor clear anything (a `text/plain`
POST, which a browser sends without asking), a foreign Host is refused, a cross-site
WebSocket gets nothing; same-origin, allowed origins and allowed hosts work, and the
command line opens up explicitly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.websockets import WebSocketDisconnect

from graphrt.fronts.cli import _parser
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.cli import config_from
from graphrt.fronts.server.config import ServerConfig

from .local import LocalClient, local_client
from .workflows import txt2img

EVIL = "http://evil.example"
FOREIGN_HOSTS = ["evil.example", "evil.example:8188", "127.0.0.1.evil.example",
                 "localhost.evil.example:80", "192.168.1.20:8188", "", "[::2]:8188"]


def app(tmp_path: Path, **config: object) -> object:
    cfg = ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                       input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                       device="cpu", **config)  # type: ignore[arg-type]
    return create_app(cfg)


def queued(client: LocalClient) -> int:
    queue = client.get("/queue").json()
    return len(queue["queue_pending"]) + len(queue["queue_running"])


def test_a_text_plain_post_from_another_origin_queues_and_clears_nothing(
        tmp_path: Path) -> None:
    client = local_client(app(tmp_path))
    body = json.dumps({"prompt": txt2img()}).encode()
    simple = {"content-type": "text/plain", "origin": EVIL}
    refused = client.post("/prompt", content=body, headers=simple)
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "forbidden_origin"
    assert queued(client) == 0
    assert client.post("/prompt", content=body).status_code == 200  # no Origin: not a browser
    assert client.post("/prompt", content=body,
                       headers={"origin": "http://127.0.0.1"}).status_code == 200  # same origin
    assert queued(client) == 2
    for path, payload in (("/queue", b'{"clear": true}'), ("/history", b'{"clear": true}'),
                          ("/interrupt", b"{}")):
        assert client.post(path, content=payload, headers=simple).status_code == 403, path
    assert client.post("/queue", content=b'{"clear": true}',
                       headers={"origin": "null"}).status_code == 403
    assert client.post("/queue", content=b'{"clear": true}',
                       headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert queued(client) == 2


def _paths(application: object) -> list[tuple[str, str]]:
    found = []
    for route in application.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route):
            path = route.path.replace("{prompt_id}", "x").replace("{node_class}", "KSampler")
            path = path.replace("{name}", "latent.empty")
            for param, value in (("{file:path}", "x.json"), ("{setting_id:path}", "Comfy.X"),
                                 ("{job_id}", "x"), ("{folder}", "checkpoints"),
                                 ("{directory_type}", "input"), ("{subgraph_id}", "x")):
                path = path.replace(param, value)
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def test_every_route_refuses_a_foreign_host_and_a_foreign_origin(tmp_path: Path) -> None:
    application = app(tmp_path)
    client = local_client(application)
    paths = _paths(application)
    assert len(paths) >= 15
    for method, path in paths:
        for host in FOREIGN_HOSTS:
            response = client.request(method, path, headers={"host": host})
            assert response.status_code == 403, (method, path, host)
            assert response.json()["error"]["type"] == "forbidden_host"
        response = client.request(method, path, headers={"origin": EVIL})
        assert response.status_code == 403, (method, path)
        assert client.request(method, path).status_code != 403, (method, path)
    for host in ("127.0.0.1:8188", "localhost:8188", "LOCALHOST", "[::1]:8188", "app.localhost"):
        assert client.get("/queue", headers={"host": host}).status_code == 200, host


def test_a_cross_site_websocket_gets_nothing(tmp_path: Path) -> None:
    application = app(tmp_path)
    with local_client(application) as client:
        server = application.state.server  # type: ignore[attr-defined]
        for headers in ({"origin": EVIL}, {"host": "evil.example"}, {"origin": "null"}):
            with pytest.raises(WebSocketDisconnect) as closed, \
                    client.websocket_connect("/ws?clientId=spy", headers=headers) as ws:
                ws.receive_json()
            assert closed.value.code == 1008
            assert server.hub.client_count == 0
        with client.websocket_connect("/ws?clientId=me",
                                      headers={"origin": "http://127.0.0.1"}) as ws:
            assert ws.receive_json()["type"] == "status"


def test_allowed_origins_and_hosts_open_up_explicitly(tmp_path: Path) -> None:
    client = local_client(app(tmp_path, allowed_origins=("http://app.example:3000",),
                              allowed_hosts=("gpu.lan",)))
    ok = {"origin": "http://app.example:3000"}
    assert client.post("/prompt", json={"prompt": txt2img()}, headers=ok).status_code == 200
    assert client.get("/queue", headers={"origin": "http://app.example:3001"}).status_code == 403
    assert client.get("/queue", headers={"host": "gpu.lan:8188"}).status_code == 200
    assert client.get("/queue", headers={"host": "gpu.lan:8188",
                                         "origin": "http://gpu.lan:8188"}).status_code == 200
    assert client.get("/queue", headers={"host": "other.lan"}).status_code == 403
    wide = local_client(app(tmp_path / "wide", allowed_origins=("*",), allowed_hosts=("*",)))
    assert wide.get("/queue", headers={"host": "any.example", "origin": EVIL}).status_code == 200


def test_a_server_bound_to_every_address_takes_ip_hosts_only(tmp_path: Path) -> None:
    client = local_client(app(tmp_path, bind_host="0.0.0.0"))
    assert client.get("/queue", headers={"host": "192.168.1.20:8188"}).status_code == 200
    assert client.get("/queue", headers={"host": "evil.example"}).status_code == 403


def test_the_command_line_flags(tmp_path: Path) -> None:
    ns = _parser().parse_args(["serve", "--state-dir", str(tmp_path), "--host", "0.0.0.0",
                               "--allow-host", "gpu.lan", "--allow-origin", "http://a.example",
                               "--header-timeout", "3", "--body-timeout", "4"])
    config = config_from(ns)
    assert config.allowed_hosts == ("gpu.lan",) and config.bind_host == "0.0.0.0"
    assert config.allowed_origins == ("http://a.example",)
    assert (config.header_timeout, config.body_timeout) == (3.0, 4.0)
    default = config_from(_parser().parse_args(["serve", "--state-dir", str(tmp_path)]))
    assert default.allowed_hosts == () and default.allowed_origins == ()
