"""The editor's user endpoints, in ComfyUI's shapes (its app/user_manager.py, app_settings.py).

    GET  /users                      {"storage": "server", "migrated": true} (single user)
    POST /users {"username": N}      → "N_<uuid>" (its id); 400 {"error"} duplicate or empty
    GET  /settings                   {id: value}        POST /settings {id: value, ...} → {}
    GET  /settings/{id}              value (null unset) POST /settings/{id} value → {}
    GET  /userdata?dir=D[&recurse=true][&full_info=true][&split=true]
         → ["a.json", "sub/b.json"] | [{"path", "size", "modified", "created"}]
           | [["sub/b.json", "sub", "b.json"]]; 400 no dir, 403 unsafe, 404 missing
    GET    /userdata/{file}          the file (attachment, nosniff); 404 missing
    POST   /userdata/{file}[?overwrite=false][&full_info=true]   body = the file's bytes
         → "path" | FileInfo; 409 exists and overwrite=false, 413 over a limit
    DELETE /userdata/{file}          204
    POST   /userdata/{file}/move/{dest}[?overwrite=false][&full_info=true] → as POST

(ComfyUI answers the POSTs with an empty 200; `{}` here, as the editor leaves an empty
answer unread and the browser reports it aborted.) A fresh user folder holds an empty
user.css and comfy.templates.json "[]", which the editor reads at every start.

`{file}` is URL-encoded by the editor (`workflows%2Fmy.json`): it is read from the raw
request path and decoded once, so an encoded "/" separates folders and "/move/" stays the
one separator of a move. Every name is confined to the user's folder (`userdata`); one that
would leave it answers 403 (as ComfyUI does) with `error.type` unsafe_path.
"""

from __future__ import annotations

import json
import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from graphrt.compat.comfy.node_errors import simple_error
from graphrt.core.paths import UnsafePath
from graphrt.fronts.server.userdata import Exists, TooLarge, UserStore

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server

DANGEROUS_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript",
                   "application/javascript", "application/xml", "text/xml"}


def _store(request: Request) -> UserStore:
    server: Server = request.app.state.server
    return server.users


def _error(status: int, kind: str, message: str, request: Request | None = None) -> Response:
    body = simple_error(kind, message)
    if request is not None:
        body = request.app.state.server.redact(body)
    return JSONResponse(body, status_code=status)


def _flag(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    return default if value is None else value.lower() == "true"


async def _json_body(request: Request) -> tuple[bool, Any]:
    """(True, value) for a JSON body; (False, None) when it is not JSON."""
    try:
        return True, json.loads(await request.body())
    except (ValueError, RecursionError):
        return False, None


async def get_users(request: Request) -> Response:
    migrated = await run_in_threadpool(_store(request).folder().is_dir)
    return JSONResponse({"storage": "server", "migrated": migrated})


async def post_users(request: Request) -> Response:
    ok, body = await _json_body(request)
    name = body.get("username") if ok and isinstance(body, dict) else None
    if not isinstance(name, str):
        return JSONResponse({"error": 'expected {"username": "..."}'}, status_code=400)
    try:
        user_id = await run_in_threadpool(_store(request).add_user, name)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(user_id)


async def get_settings(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_store(request).settings))


async def get_setting(request: Request) -> Response:
    settings = await run_in_threadpool(_store(request).settings)
    return JSONResponse(settings.get(request.path_params["setting_id"]))


async def _save_settings(request: Request, values: dict[str, Any]) -> Response:
    try:
        await run_in_threadpool(_store(request).update_settings, values)
    except TooLarge as exc:
        return _error(413, "settings_too_large", str(exc))
    return JSONResponse({})


async def post_settings(request: Request) -> Response:
    ok, body = await _json_body(request)
    if not ok or not isinstance(body, dict):
        return _error(400, "invalid_json", "expected a JSON object of settings")
    return await _save_settings(request, body)


async def post_setting(request: Request) -> Response:
    setting_id = request.path_params["setting_id"]
    ok, value = await _json_body(request)
    if not ok or not setting_id or len(setting_id) > 256:
        return _error(400, "invalid_json", "expected a setting id and a JSON value")
    return await _save_settings(request, {setting_id: value})


async def list_userdata(request: Request) -> Response:
    q = request.query_params
    directory = q.get("dir", "").rstrip("/")
    if not directory:
        return _error(400, "invalid_request", "Directory not provided")
    store = _store(request)
    try:
        base, files = await run_in_threadpool(store.listing, directory,
                                              recurse=_flag(request, "recurse", False))
    except UnsafePath as exc:
        return _error(403, "unsafe_path", str(exc), request)
    except FileNotFoundError:
        return _error(404, "not_found", "Directory not found")

    def entry(path: Any) -> Any:
        if _flag(request, "full_info", False):
            return {**store.info(path.resolve()), "path": path.relative_to(base).as_posix()}
        rel = path.relative_to(base).as_posix()
        return [rel, *rel.split("/")] if _flag(request, "split", False) else rel

    return JSONResponse(await run_in_threadpool(lambda: [entry(p) for p in files]))


def _names(request: Request) -> tuple[str, str | None]:
    """(file, move destination or None), each decoded once from the raw request path."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    text = raw.decode("latin-1").partition("?")[0]
    tail = text[text.index("/userdata/") + len("/userdata/"):]
    source, sep, dest = tail.partition("/move/")
    return _decode(source), _decode(dest) if sep else None


def _decode(part: str) -> str:
    return unquote(part, errors="strict")


async def userdata_file(request: Request) -> Response:
    """GET, POST and DELETE /userdata/{file}, and POST /userdata/{file}/move/{dest}."""
    try:
        name, dest = _names(request)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_request", "the file name is not valid UTF-8 once decoded")
    if not name or (dest is not None and not dest):
        return _error(400, "invalid_request", "a file name is required")
    store, method = _store(request), request.method
    overwrite = _flag(request, "overwrite", True)
    try:
        if method == "GET" and dest is None:
            return await run_in_threadpool(_file_response, store, name)
        if method == "DELETE" and dest is None:
            await run_in_threadpool(store.delete, name)
            return Response(status_code=204)
        if method != "POST":
            return _error(405, "method_not_allowed", f"{method} is not allowed here")
        if dest is None:
            data = await request.body()
            path = await run_in_threadpool(store.write, name, data, overwrite=overwrite)
        else:
            path = await run_in_threadpool(store.move, name, dest, overwrite=overwrite)
    except UnsafePath as exc:
        return _error(403, "unsafe_path", str(exc), request)
    except FileNotFoundError:
        return _error(404, "not_found", "File not found")
    except Exists:
        return _error(409, "file_exists", "File already exists")
    except TooLarge as exc:
        return _error(413, "userdata_too_large", str(exc))
    except OSError as exc:
        return _error(400, "invalid_file", f"cannot write this file ({type(exc).__name__})")
    full = _flag(request, "full_info", False)
    return JSONResponse(store.info(path) if full else store.relative(path))


def _file_response(store: UserStore, name: str) -> Response:
    """A user's file, never rendered inline in the editor's origin (except user.css)."""
    path = store.resolve(name)
    if not path.is_file():
        raise FileNotFoundError(name)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    disposition = "attachment"
    if store.relative(path) == "user.css":
        media, disposition = "text/css", "inline"
    elif media in DANGEROUS_TYPES:
        media = "application/octet-stream"
    return FileResponse(path, media_type=media, headers={
        "X-Content-Type-Options": "nosniff", "Content-Disposition": disposition})


routes = [
    Route("/users", get_users, methods=["GET"]),
    Route("/users", post_users, methods=["POST"]),
    Route("/settings", get_settings, methods=["GET"]),
    Route("/settings", post_settings, methods=["POST"]),
    Route("/settings/{setting_id:path}", get_setting, methods=["GET"]),
    Route("/settings/{setting_id:path}", post_setting, methods=["POST"]),
    Route("/userdata", list_userdata, methods=["GET"]),
    Route("/userdata/{file:path}", userdata_file, methods=["GET", "POST", "DELETE"]),
]
