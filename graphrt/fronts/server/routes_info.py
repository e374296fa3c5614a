"""Descriptions: /object_info, /system_stats, and graphrt's native /graphrt/* endpoints.

    GET  /object_info[/{class}]   ComfyUI's node descriptions, for the supported classes
    GET  /system_stats            system and device summary (torch only if already loaded)
    GET  /graphrt/ops[/{name}]    op schemas (JSON Schema of params, typed ports)
    POST /graphrt/validate        {"prompt": doc, "args": {...}} → {"valid", "issues"} (and
                                  "error" when invalid), checked within the server's limits
"""

from __future__ import annotations

import os
import platform
import sys
from typing import TYPE_CHECKING, Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphrt import __version__
from graphrt.compat.comfy.object_info import object_info
from graphrt.core.errors import InvalidGraph
from graphrt.core.schema import op_schema
from graphrt.fronts.server.routes_prompt import _json
from graphrt.fronts.server.submit import CHECKER_ERRORS, Rejected, parse, prepare, unchecked

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server


async def get_object_info(request: Request) -> Response:
    server: Server = request.app.state.server
    only = request.path_params.get("node_class")
    info = await run_in_threadpool(object_info, server.runtime.registry,
                                   server.runtime.folders, only)
    return JSONResponse(info)


def _memory() -> tuple[int, int]:
    """(total, available) RAM in bytes, from /proc/meminfo where there is one."""
    try:
        fields = {}
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                key, _, rest = line.partition(":")
                fields[key] = int(rest.split()[0]) * 1024
        return fields.get("MemTotal", 0), fields.get("MemAvailable", 0)
    except (OSError, ValueError, IndexError):
        return 0, 0


def _devices() -> list[dict[str, Any]]:
    torch = sys.modules.get("torch")  # never imported just to answer this
    if torch is not None and torch.cuda.is_available():
        out = []
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            out.append({"name": torch.cuda.get_device_name(i), "type": "cuda", "index": i,
                        "vram_total": total, "vram_free": free,
                        "torch_vram_total": total, "torch_vram_free": free})
        return out
    return [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 0, "vram_free": 0,
             "torch_vram_total": 0, "torch_vram_free": 0}]


async def system_stats(request: Request) -> Response:
    total, free = _memory()
    torch = sys.modules.get("torch")
    return JSONResponse({
        "system": {"os": os.name, "platform": platform.platform(),
                   "python_version": sys.version, "embedded_python": False,
                   "comfyui_version": f"graphrt-{__version__}", "graphrt_version": __version__,
                   "pytorch_version": getattr(torch, "__version__", None),
                   "argv": [], "ram_total": total, "ram_free": free},
        "devices": _devices()})


async def empty_list(request: Request) -> Response:
    return JSONResponse([])


async def list_ops(request: Request) -> Response:
    server: Server = request.app.state.server
    return JSONResponse([op_schema(spec) for spec in server.runtime.registry])


async def get_op(request: Request) -> Response:
    server: Server = request.app.state.server
    spec = server.runtime.registry.get(request.path_params["name"])
    if spec is None:
        return JSONResponse({"error": {"type": "not_found", "message": "unknown op"}}, 404)
    return JSONResponse(op_schema(spec))


async def validate(request: Request) -> Response:
    server: Server = request.app.state.server
    try:
        sub = parse(await _json(request), server.config.limits)
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)

    def check() -> dict[str, Any]:
        """Checked within the server's limits, as a submission is."""
        try:
            plan = prepare(sub, server.runtime, server.config.limits)
        except InvalidGraph as exc:
            return {"valid": False, "issues": [i.model_dump(mode="json") for i in exc.issues],
                    "error": {"type": "invalid_graph", "message": f"{len(exc.issues)} "
                              "problem(s) in the graph"}}
        except CHECKER_ERRORS as exc:
            raise unchecked(exc) from None
        return {"valid": True, "issues": [], "nodes": len(plan.order)}

    try:
        result = await anyio.to_thread.run_sync(check, limiter=server.planners)
    except Rejected as exc:
        return JSONResponse(server.redact(exc.body), status_code=exc.status)
    return JSONResponse(server.redact(result), status_code=200 if result["valid"] else 400)


async def root(request: Request) -> Response:
    return JSONResponse({"name": "graphrt", "version": __version__,
                         "api": ["comfyui", "graphrt/1"]})


routes = [
    Route("/", root, methods=["GET"]),
    Route("/object_info", get_object_info, methods=["GET"]),
    Route("/object_info/{node_class}", get_object_info, methods=["GET"]),
    Route("/system_stats", system_stats, methods=["GET"]),
    Route("/embeddings", empty_list, methods=["GET"]),
    Route("/extensions", empty_list, methods=["GET"]),
    Route("/graphrt/ops", list_ops, methods=["GET"]),
    Route("/graphrt/ops/{name}", get_op, methods=["GET"]),
    Route("/graphrt/validate", validate, methods=["POST"]),
]
