"""What the editor asks of the server besides prompts and files, in ComfyUI's shapes.

    POST /free {"unload_models": true, "free_memory": true}   drop the memory cache (live
         models and cached values; the disk cache stays) → {"freed": {"entries", "bytes"}}
    GET  /features            the server's feature flags (also sent on the WebSocket)
    GET  /extensions          URLs of the JavaScript extensions the editor loads
    GET  /embeddings          names (no suffix) of the files in <models>/embeddings
    GET  /models              model folder names;  GET /models/{folder} → file names
    GET  /experiment/models   [{"name", "folders"}]; /experiment/models/{folder} →
                              [{"name", "pathIndex"}]
    GET  /view_metadata/{folder}?filename=x.safetensors → its header's __metadata__; 404
                              (empty) when there is none
    GET  /i18n, /workflow_templates, /global_subgraphs → {} (none here)

/extensions lists `frontend.extension_urls(config)`: the scripts the module serving the
editor serves (graphrt's editor extension, when the editor is on); the editor imports each
at start-up. Folders are named, never spelled out: "<models>/checkpoints".
"""

from __future__ import annotations

import gc
import sys
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphrt.core.paths import UnsafePath
from graphrt.fronts.server import frontend
from graphrt.fronts.server.models import (
    MODEL_SUFFIXES,
    ModelFolder,
    model_file,
    model_folders,
    safetensors_metadata,
)
from graphrt.fronts.server.routes_prompt import _json
from graphrt.fronts.server.submit import Rejected

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server

def server_features(server: Server) -> dict[str, Any]:
    """ComfyUI's server feature flags, as graphrt answers them."""
    return {"supports_preview_metadata": False,
            "max_upload_size": server.config.limits.max_body_bytes,
            "extension": {"manager": {"supports_v4": False}},
            "node_replacements": False, "assets": False, "graphrt": {"plan": True}}


def _server(request: Request) -> Server:
    return request.app.state.server  # type: ignore[no-any-return]


async def free(request: Request) -> Response:
    server = _server(request)
    try:
        body = await _json(request, {})
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    if not isinstance(body, dict):
        return JSONResponse({"error": "expected a JSON object"}, status_code=400)
    if not (body.get("unload_models") or body.get("free_memory")):
        return JSONResponse({"freed": {"entries": 0, "bytes": 0}})

    def drop() -> dict[str, int]:
        memory = server.runtime.store.memory
        before = memory.stats()
        memory.clear()
        gc.collect()
        torch = sys.modules.get("torch")  # never imported just for this
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
        return {"entries": before["entries"], "bytes": before["bytes"]}

    return JSONResponse({"freed": await run_in_threadpool(drop)})


async def features(request: Request) -> Response:
    return JSONResponse(server_features(_server(request)))


async def extensions(request: Request) -> Response:
    return JSONResponse(frontend.extension_urls(_server(request).config))


async def empty_object(request: Request) -> Response:
    return JSONResponse({})


async def global_subgraph(request: Request) -> Response:
    return JSONResponse({"error": "no such subgraph"}, status_code=404)


async def _folders(request: Request) -> dict[str, ModelFolder]:
    server = _server(request)
    return await run_in_threadpool(model_folders, server.runtime.registry,
                                   server.runtime.folders)


async def list_folders(request: Request) -> Response:
    return JSONResponse(list(await _folders(request)))


async def _names(request: Request) -> list[str] | None:
    known = await _folders(request)
    name = request.path_params["folder"]
    if name not in known:
        return None
    models = _server(request).runtime.folders.models
    return await run_in_threadpool(known[name].names, models / name)


async def list_models(request: Request) -> Response:
    names = await _names(request)
    if names is None:
        return JSONResponse({"error": "unknown model folder"}, status_code=404)
    return JSONResponse(names)


async def experiment_folders(request: Request) -> Response:
    return JSONResponse([{"name": n, "folders": [f"<models>/{n}"]}
                         for n in await _folders(request)])


async def experiment_models(request: Request) -> Response:
    names = await _names(request)
    if names is None:
        return JSONResponse({"error": "unknown model folder"}, status_code=404)
    return JSONResponse([{"name": n, "pathIndex": 0} for n in names])


async def embeddings(request: Request) -> Response:
    models = _server(request).runtime.folders.models
    names = await run_in_threadpool(ModelFolder(suffixes=set(MODEL_SUFFIXES)).names,
                                    models / "embeddings")
    return JSONResponse([str(PurePosixPath(n).with_suffix("")) for n in names])


async def view_metadata(request: Request) -> Response:
    """A safetensors file's metadata; 404 with an empty body otherwise (the editor reads
    an empty answer as "no metadata")."""
    folder, filename = request.path_params["folder"], request.query_params.get("filename")
    known = await _folders(request)
    if folder not in known or not filename or not filename.endswith(".safetensors"):
        return Response(status_code=404)
    server = _server(request)
    try:
        path = model_file(server.runtime.folders, folder, filename)
    except UnsafePath as exc:
        return JSONResponse(server.redact({"error": {"type": "unsafe_path",
                                                     "message": str(exc)}}), status_code=400)
    meta = await run_in_threadpool(safetensors_metadata, path)
    return Response(status_code=404) if meta is None else JSONResponse(meta)


routes = [
    Route("/free", free, methods=["POST"]),
    Route("/features", features, methods=["GET"]),
    Route("/extensions", extensions, methods=["GET"]),
    Route("/embeddings", embeddings, methods=["GET"]),
    Route("/models", list_folders, methods=["GET"]),
    Route("/models/{folder}", list_models, methods=["GET"]),
    Route("/experiment/models", experiment_folders, methods=["GET"]),
    Route("/experiment/models/{folder}", experiment_models, methods=["GET"]),
    Route("/view_metadata/{folder}", view_metadata, methods=["GET"]),
    Route("/i18n", empty_object, methods=["GET"]),
    Route("/workflow_templates", empty_object, methods=["GET"]),
    Route("/global_subgraphs", empty_object, methods=["GET"]),
    Route("/global_subgraphs/{subgraph_id}", global_subgraph, methods=["GET"]),
]
