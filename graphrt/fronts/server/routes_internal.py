"""ComfyUI's /internal routes the editor calls (api_server/routes/internal), in its shapes.

    GET   /internal/logs                 the recent log lines, as one JSON string
    GET   /internal/logs/raw             {"entries": [{"t", "m"}], "size": {"cols", "rows"}}
    PATCH /internal/logs/subscribe       {"enabled": bool, "clientId": id} → 200; then `logs`
                                         WebSocket messages with each new entry
    GET   /internal/folder_paths         {folder: ["<models>/checkpoints"]}: named, never the
                                         server's own paths
    GET   /internal/files/{type}         names of the files in <input> (with the built-in
                                         inputs), <output> or temp (= output), newest first;
                                         400 {"error"} for another type
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphrt.fronts.server.logbuffer import TERMINAL_SIZE
from graphrt.fronts.server.models import model_folders
from graphrt.fronts.server.routes_files import shipped_inputs
from graphrt.fronts.server.routes_prompt import _json
from graphrt.fronts.server.submit import Rejected
from graphrt.fronts.server.ws import CLIENT_ID_RE

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server


def _server(request: Request) -> Server:
    return request.app.state.server  # type: ignore[no-any-return]


async def logs(request: Request) -> Response:
    entries = _server(request).logs.snapshot()
    return JSONResponse("".join(f"{e['t']} - {e['m']}" for e in entries))


async def raw_logs(request: Request) -> Response:
    return JSONResponse({"entries": _server(request).logs.snapshot(), "size": TERMINAL_SIZE})


async def subscribe_logs(request: Request) -> Response:
    try:
        body = await _json(request, {})
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    sid = body.get("clientId") if isinstance(body, dict) else None
    if not isinstance(sid, str) or not CLIENT_ID_RE.match(sid):
        return JSONResponse({"error": 'expected {"enabled": bool, "clientId": "..."}'},
                            status_code=400)
    _server(request).logs.subscribe(sid, bool(body.get("enabled")))
    return JSONResponse({})


async def folder_paths(request: Request) -> Response:
    server = _server(request)
    known = await run_in_threadpool(model_folders, server.runtime.registry,
                                    server.runtime.folders)
    return JSONResponse({name: [f"<models>/{name}"] for name in known})


def _visible_files(folder: Path) -> list[tuple[float, str]]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [(e.stat().st_mtime, e.name) for e in entries
            if e.is_file() and not e.name.startswith(".")]


async def files(request: Request) -> Response:
    kind = request.path_params["directory_type"]
    folders = _server(request).runtime.folders
    folder = {"input": folders.input, "output": folders.output, "temp": folders.output}.get(kind)
    if folder is None:
        return JSONResponse({"error": "Invalid directory type"}, status_code=400)

    def names() -> list[str]:
        found = sorted(_visible_files(folder), reverse=True)
        if kind == "input":
            have = {name for _, name in found}
            found += sorted((0.0, n) for _, n in _visible_files(shipped_inputs())
                            if n not in have)
        return [name for _, name in found]

    return JSONResponse(await run_in_threadpool(names))


routes = [
    Route("/internal/logs", logs, methods=["GET"]),
    Route("/internal/logs/raw", raw_logs, methods=["GET"]),
    Route("/internal/logs/subscribe", subscribe_logs, methods=["PATCH"]),
    Route("/internal/folder_paths", folder_paths, methods=["GET"]),
    Route("/internal/files/{directory_type}", files, methods=["GET"]),
]
