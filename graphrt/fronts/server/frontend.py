"""The ComfyUI web editor, served at `/` from the comfyui-frontend-package wheel.

`wrap(routes, config)` returns the app's final route list. With `config.frontend` on and the
package installed: graphrt's own routes first (they win); `/` answers the editor's
index.html instead of the JSON greeting; every file the package ships is served at its path
(`/assets/index-….js`, `/scripts/app.js`, …), and so is graphrt's editor extension
(`EXTENSIONS`, under `/extensions/graphrt/`); the few files the editor asks for that the
package does not ship get empty answers (`EMPTY`: `/user.css`, the index of core workflow
templates, of which graphrt has none). Only files that exist in those folders match, listed
once at start-up, so no request names anything else on disk, and a wrong method on one of
graphrt's routes still answers 405. With `config.frontend` off: `routes`, unchanged.

Caching: build chunks in `assets/` carry a content hash in their name and are cached for a
year (`immutable`); everything else (the index, the shims in `scripts/`, the extension) is
`no-cache`, revalidated by ETag, so a new package version takes effect on reload. The
editor loads only from this server (tests/browser/test_editor.py records every request).
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.staticfiles import NotModifiedResponse
from starlette.types import Receive, Scope, Send

from graphrt.fronts.server.config import ServerConfig

log = logging.getLogger("graphrt.fronts.server")

EXTENSION_DIR = Path(__file__).with_name("editor_ext")
EXTENSIONS = ("/extensions/graphrt/graphrt.js",)  # what GET /extensions lists (editor on)
HASHED = re.compile(r"^assets/[^/]+-[A-Za-z0-9_-]{8}\.[a-z0-9]+(\.map)?$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
         ".map": "application/json", ".json": "application/json", ".woff2": "font/woff2"}


def static_root() -> Path | None:
    """The editor's files (`comfyui_frontend_package/static`), or None if not installed."""
    try:
        import comfyui_frontend_package
    except ImportError:
        return None
    root = Path(comfyui_frontend_package.__file__).parent / "static"
    return root if (root / "index.html").is_file() else None


def extension_urls(config: ServerConfig) -> list[str]:
    """The extension scripts GET /extensions should list: graphrt's, when the editor is on."""
    return list(EXTENSIONS) if config.frontend and static_root() is not None else []


class Files(BaseRoute):
    """GET/HEAD of the files under `root`, each at `prefix` + its path; nothing else."""

    def __init__(self, root: Path, prefix: str, *, hashed: bool = False) -> None:
        self.root, self.prefix, self.hashed = root, prefix, hashed
        self.names = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = route_path(scope)
            if path.startswith(self.prefix) and path[len(self.prefix):] in self.names:
                return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = route_path(scope)[len(self.prefix):]
        response = serve(self.root / name, Headers(scope=scope),
                         IMMUTABLE if self.hashed and HASHED.match(name) else REVALIDATE)
        await response(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The request's path below the app's root path (as Starlette's own routes match)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def serve(path: Path, request: Headers, cache: str) -> Response:
    """`path` with its ETag and Last-Modified; 304 when the client's copy is current; 404
    if it went away since start-up (the package was upgraded under a running server)."""
    try:
        stat = os.stat(path)
    except OSError:
        return Response("Not Found", status_code=404, media_type="text/plain")
    media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "text/plain"
    response = FileResponse(path, stat_result=stat, media_type=media,
                            headers={"cache-control": cache})
    etag = response.headers["etag"]
    tags = [t.strip().removeprefix("W/") for t in request.get("if-none-match", "").split(",")]
    if etag in tags or "*" in tags:
        return NotModifiedResponse(response.headers)
    return response


def index(root: Path) -> Route:
    async def editor(request: Any) -> Response:
        return serve(root / "index.html", request.headers, REVALIDATE)

    return Route("/", editor, methods=["GET"])


EMPTY = {  # files the index or the editor asks for that the package does not ship
    "/user.css": ("", "text/css"),  # the user's own styles (ComfyUI leaves it to the user)
    "/templates/index.json": ("[]", "application/json"),  # core workflow templates: none
    "/templates/index_logo.json": ("{}", "application/json"),  # their logos
}


def empty(path: str) -> Route:
    content, media = EMPTY[path]

    async def answer(request: Any) -> Response:
        return Response(content, media_type=media, headers={"cache-control": REVALIDATE})

    return Route(path, answer, methods=["GET"])


def wrap(routes: list[Any], config: ServerConfig) -> list[Any]:
    """The app's routes with the editor's around them (see the module's docstring)."""
    if not config.frontend:
        return routes
    root = static_root()
    if root is None:
        log.warning("the editor is not served at /: comfyui-frontend-package is not installed "
                    "(`pip install graphrt` installs it; --no-frontend silences this)")
        return routes
    own = [r for r in routes if getattr(r, "path", None) != "/"]
    extra = [empty(path) for path in EMPTY if not (root / path[1:]).is_file()]
    return [index(root), *own, *extra, Files(EXTENSION_DIR, "/extensions/graphrt/"),
            Files(root, "/", hashed=True)]
