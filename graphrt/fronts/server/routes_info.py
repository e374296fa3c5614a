"""Descriptions: /object_info, /system_stats, and graphrt's native /graphrt/* endpoints.

    GET  /object_info[/{class}]   ComfyUI's node descriptions, for the supported classes
    GET  /system_stats            system and device summary (torch only if already loaded)
    GET  /graphrt/ops[/{name}]    op schemas (JSON Schema of params, typed ports)
    POST /graphrt/validate        {"prompt": doc, "args": {...}} → {"valid", "issues"} (and
                                  "error" when invalid; "dropped_outputs" when valid: the
                                  outputs left out and why), checked within the server's limits
    POST /graphrt/plan            the body of POST /prompt → what running it would do, without
                                  running it: per planned node (macros unrolled) its op, key,
                                  status (execute | cached | skipped) and predicted model
                                  calls; "by_node" sums them per node of the submitted prompt
                                  (the editor's ids); an invalid prompt answers 400 with the
                                  node_errors POST /prompt would give (a valid one: its
                                  "dropped_outputs" and their "node_errors", as /prompt)
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphrt import __version__
from graphrt.compat.comfy.object_info import object_info
from graphrt.core.errors import InvalidGraph
from graphrt.core.runtime import PlanReport
from graphrt.core.schema import op_schema
from graphrt.fronts.server.routes_prompt import _json
from graphrt.fronts.server.submit import (
    CHECKER_ERRORS,
    Rejected,
    Submission,
    accepted_errors,
    check,
    parse,
    prepare,
    unchecked,
)

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server

T = TypeVar("T")


async def get_object_info(request: Request) -> Response:
    server: Server = request.app.state.server
    only = request.path_params.get("node_class")
    info = await run_in_threadpool(object_info, server.runtime.registry,
                                   server.runtime.folders, only)
    return JSONResponse(info)


def _torch_version() -> str:
    """torch's version, read from its metadata when it is not loaded (never imported here)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.__version__)
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "none"


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
    return JSONResponse({
        "system": {"os": os.name, "platform": platform.platform(),
                   "python_version": sys.version, "embedded_python": False,
                   "comfyui_version": f"graphrt-{__version__}", "graphrt_version": __version__,
                   "pytorch_version": _torch_version(),
                   # ComfyUI's flag for "no comfy.org API nodes": true of graphrt, and the
                   # editor then never asks api.comfy.org for release notes
                   "argv": ["--disable-api-nodes"], "ram_total": total, "ram_free": free},
        "devices": _devices()})


async def list_ops(request: Request) -> Response:
    server: Server = request.app.state.server
    return JSONResponse([op_schema(spec) for spec in server.runtime.registry])


async def get_op(request: Request) -> Response:
    server: Server = request.app.state.server
    spec = server.runtime.registry.get(request.path_params["name"])
    if spec is None:
        return JSONResponse({"error": {"type": "not_found", "message": "unknown op"}}, 404)
    return JSONResponse(op_schema(spec))


async def _checked(request: Request, work: Callable[[Server, Submission], T]
                   ) -> T | Response:
    """`work(server, submission)` on a planning thread, within the server's limits; a
    refused body answers as the refusal says."""
    server: Server = request.app.state.server
    try:
        sub = parse(await _json(request), server.config.limits)
        return await anyio.to_thread.run_sync(work, server, sub, limiter=server.planners)
    except Rejected as exc:
        return JSONResponse(server.redact(exc.body), status_code=exc.status)


def _validity(server: Server, sub: Submission) -> dict[str, Any]:
    try:
        plan = prepare(sub, server.runtime, server.config.limits)
    except InvalidGraph as exc:
        return {"valid": False, "issues": [i.model_dump(mode="json") for i in exc.issues],
                "error": {"type": "invalid_graph", "message": f"{len(exc.issues)} "
                          "problem(s) in the graph"}}
    except CHECKER_ERRORS as exc:
        raise unchecked(exc) from None
    return {"valid": True, "issues": [], "nodes": len(plan.order),
            "dropped_outputs": plan.dropped_json()}


async def validate(request: Request) -> Response:
    result = await _checked(request, _validity)
    if isinstance(result, Response):
        return result
    server: Server = request.app.state.server
    return JSONResponse(server.redact(result), status_code=200 if result["valid"] else 400)


def plan_body(report: PlanReport) -> dict[str, Any]:
    """The report, and per submitted node: status, planned nodes and model calls."""
    body = report.to_dict()
    by_node: dict[str, dict[str, Any]] = {}
    for row in body["nodes"]:
        node = by_node.setdefault(row["source"] or row["node"], {
            "nodes": 0, "execute": 0, "cached": 0, "skipped": 0, "model_calls": 0})
        node["nodes"] += 1
        node[row["status"]] += 1
        calls = row["model_calls"]
        node["model_calls"] = None if calls is None or node["model_calls"] is None else \
            node["model_calls"] + calls
    for node in by_node.values():
        node["status"] = ("execute" if node["execute"] else
                          "cached" if node["cached"] else "skipped")
    return {**body, "by_node": by_node}


def _plan(server: Server, sub: Submission) -> dict[str, Any]:
    plan = check(sub, server.runtime, server.config.limits, roots=server.roots)
    return {**plan_body(server.runtime.plan(plan)), "dropped_outputs": plan.dropped_json(),
            "node_errors": accepted_errors(sub, plan, server.roots)}


async def plan(request: Request) -> Response:
    result = await _checked(request, _plan)
    if isinstance(result, Response):
        return result
    server: Server = request.app.state.server
    return JSONResponse(server.redact(result))


async def root(request: Request) -> Response:
    return JSONResponse({"name": "graphrt", "version": __version__,
                         "api": ["comfyui", "graphrt/1"]})


routes = [
    Route("/", root, methods=["GET"]),
    Route("/object_info", get_object_info, methods=["GET"]),
    Route("/object_info/{node_class}", get_object_info, methods=["GET"]),
    Route("/system_stats", system_stats, methods=["GET"]),
    Route("/graphrt/ops", list_ops, methods=["GET"]),
    Route("/graphrt/ops/{name}", get_op, methods=["GET"]),
    Route("/graphrt/validate", validate, methods=["POST"]),
    Route("/graphrt/plan", plan, methods=["POST"]),
]
