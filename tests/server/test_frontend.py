"""The editor at `/` (graphrt/fronts/server/frontend.py), in process: the index and the
package's files around graphrt's own routes, their cache headers, and `--no-frontend`.
The editor itself, in a browser, is tests/browser/test_editor.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from graphrt.fronts.cli import _parser
from graphrt.fronts.server import frontend
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.cli import config_from
from graphrt.fronts.server.config import ServerConfig

from .local import LocalClient, local_client

STATIC = frontend.static_root()
pytestmark = pytest.mark.skipif(STATIC is None, reason="comfyui-frontend-package is missing")


def client(tmp_path: Path, **kwargs: object) -> LocalClient:
    config = ServerConfig(state_dir=tmp_path / "state", disk_cache=False, **kwargs)  # type: ignore[arg-type]
    return local_client(create_app(config))


def test_root_is_the_editor_revalidated_by_etag(tmp_path: Path) -> None:
    c = client(tmp_path)
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<div id="vue-app">' in page.text
    assert page.headers["cache-control"] == "no-cache" and page.headers["etag"]
    again = c.get("/", headers={"if-none-match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert c.head("/").status_code == 200


def test_every_file_the_index_names_is_served(tmp_path: Path) -> None:
    c = client(tmp_path)
    index = c.get("/").text
    names = re.findall(r'(?:href|src)="\.?/?([^"#?]+)"', index)
    assert any(n.startswith("assets/index-") for n in names)
    for name in names:
        if name.startswith("api/"):  # the user's stylesheet in userdata (routes_user)
            continue
        response = c.get(f"/{name}")
        assert response.status_code == 200, name


def test_build_chunks_are_immutable_and_the_rest_revalidated(tmp_path: Path) -> None:
    assert STATIC is not None
    c = client(tmp_path)
    chunk = next(p for p in sorted((STATIC / "assets").glob("index-*.js")))
    response = c.get(f"/assets/{chunk.name}")
    assert response.status_code == 200 and response.content == chunk.read_bytes()
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("/scripts/app.js", "/assets/images/comfy-icon-192.png", "/user.css",
                 "/extensions/graphrt/graphrt.js"):
        response = c.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-cache", path


def test_graphrt_routes_win_and_nothing_else_on_disk_is_served(tmp_path: Path) -> None:
    c = client(tmp_path)
    assert c.get("/prompt").json() == {"exec_info": {"queue_remaining": 0}}
    assert c.get("/upload/image").status_code == 405  # a POST route, not a file
    for path in ("/nope.js", "/assets", "/assets/", "/scripts", "/static/index.html",
                 "/%2e%2e/__init__.py", "/..%2f__init__.py", "/extensions/graphrt/",
                 "/extensions/graphrt/../../__init__.py", "/extensions/core/../../index.html.x"):
        assert c.get(path).status_code == 404, path
    assert c.post("/scripts/app.js").status_code in (404, 405)


def test_the_extension_is_listed_and_served(tmp_path: Path) -> None:
    c = client(tmp_path)
    config = ServerConfig(state_dir=tmp_path / "x")
    assert frontend.extension_urls(config) == list(frontend.EXTENSIONS)
    for url in frontend.EXTENSIONS:
        script = c.get(url)
        assert script.status_code == 200 and "registerExtension" in script.text
        assert script.headers["content-type"].startswith("text/javascript")
    assert set(frontend.EXTENSIONS) <= set(c.get("/extensions").json())


def test_no_frontend_keeps_the_api_greeting(tmp_path: Path) -> None:
    ns = _parser().parse_args(["serve", "--state-dir", str(tmp_path / "s"), "--no-frontend"])
    config = config_from(ns)
    assert config.frontend is False
    assert frontend.extension_urls(config) == []
    c = local_client(create_app(config))
    assert c.get("/").json()["name"] == "graphrt"
    assert c.get("/scripts/app.js").status_code == 404
    assert c.get(frontend.EXTENSIONS[0]).status_code == 404
    default = config_from(_parser().parse_args(["serve", "--state-dir", str(tmp_path / "d")]))
    assert default.frontend is True


def test_the_token_covers_the_editor(tmp_path: Path) -> None:
    c = client(tmp_path, token="s3cret")
    assert c.get("/").status_code == 401
    assert c.get("/scripts/app.js").status_code == 401
    assert c.get("/", headers={"authorization": "Bearer s3cret"}).status_code == 200
    assert c.get("/scripts/app.js?token=s3cret").status_code == 200


def test_a_file_gone_since_start_up_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("export {}")
    files = frontend.Files(tmp_path, "/x/")
    assert files.names == {"a.js"}
    (tmp_path / "a.js").unlink()  # e.g. the package upgraded under a running server
    assert frontend.serve(tmp_path / "a.js", Headers(), "no-cache").status_code == 404
