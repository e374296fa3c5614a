"""ComfyUI's prompt endpoints: /prompt, /queue, /history, /interrupt.

    POST /prompt   {"prompt": ..., "client_id": ...} → {"prompt_id", "number", "node_errors"}
    GET  /queue    → {"queue_running": [[number, id, prompt, extra_data, outputs]], ...}
    POST /queue    {"clear": true} | {"delete": [ids]}
    GET  /history[/{id}]  → {id: {"prompt": [...], "outputs": {...}, "status": {...}}}
    POST /history  {"clear": true} | {"delete": [ids]}
    POST /interrupt  [{"prompt_id": id}]
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphrt.compat.comfy.classes import is_output_class
from graphrt.compat.comfy.node_errors import simple_error
from graphrt.compat.comfy.outputs import output_nodes
from graphrt.fronts.server.queue import FINISHED, PromptRow, QueueFull
from graphrt.fronts.server.submit import Rejected, check, parse

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server


def _server(request: Request) -> Server:
    return request.app.state.server  # type: ignore[no-any-return]


async def _json(request: Request, default: Any = None) -> Any:
    body = await request.body()
    if not body.strip():
        return default
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise Rejected(400, simple_error("invalid_json", "the body is not valid JSON",
                                         str(exc))) from None


async def get_prompt(request: Request) -> Response:
    return JSONResponse(_server(request).worker.status()["status"])


async def post_prompt(request: Request) -> Response:
    server = _server(request)
    try:
        sub = parse(await _json(request))
        plan = await run_in_threadpool(check, sub, server.runtime, server.config.limits)
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    prompt_id = sub.prompt_id or str(uuid.uuid4())
    server.worker.plans[prompt_id] = plan  # before it is queued: the worker takes it from here
    try:
        number = await run_in_threadpool(server.queue.add, prompt_id, sub.stored(),
                                         sub.client_id, server.config.limits.max_queue)
    except QueueFull as exc:
        server.worker.plans.pop(prompt_id, None)
        return JSONResponse(simple_error("queue_full", f"{exc}; try again later"),
                            status_code=503, headers={"Retry-After": "5"})
    except Exception as exc:  # sqlite3.IntegrityError: a prompt_id used twice
        server.worker.plans.pop(prompt_id, None)
        return JSONResponse(simple_error("invalid_prompt", f"cannot queue: {exc}"),
                            status_code=400)
    server.worker.wake.set()
    server.hub.send("status", server.worker.status())
    return JSONResponse({"prompt_id": prompt_id, "number": number, "node_errors": {}})


def queue_item(row: PromptRow) -> list[Any]:
    """ComfyUI's queue tuple: [number, prompt_id, prompt, extra_data, outputs_to_execute]."""
    prompt = row.body["prompt"]
    if row.body.get("format") == "comfy":
        outputs = [n for n, c in row.body.get("class_types", {}).items() if is_output_class(c)]
    else:
        outputs = list(dict.fromkeys(output_nodes(prompt).values()))
    extra = {**row.body.get("extra_data", {}), "client_id": row.client_id}
    return [row.number, row.id, prompt, extra, outputs]


def history_entry(row: PromptRow) -> dict[str, Any]:
    result = row.result or {}
    return {"prompt": queue_item(row), "outputs": result.get("outputs", {}),
            "status": result.get("status", {}), "meta": result.get("meta", {}),
            "graphrt": {**result.get("graphrt", {}), "attempts": row.attempts,
                        "state": row.status, "started": row.started,
                        "finished": row.finished}}


async def get_queue(request: Request) -> Response:
    running, pending = await run_in_threadpool(_server(request).queue.in_queue)
    return JSONResponse({"queue_running": [queue_item(r) for r in running],
                         "queue_pending": [queue_item(r) for r in pending]})


async def _clear_or_delete(request: Request, statuses: tuple[str, ...]) -> Response:
    queue = _server(request).queue
    try:
        body = await _json(request, {})
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    if not isinstance(body, dict):
        return JSONResponse(simple_error("invalid_request", "expected a JSON object"), 400)
    removed = 0
    if body.get("clear"):
        removed += await run_in_threadpool(lambda: queue.clear(statuses=statuses))
    ids = body.get("delete")
    if isinstance(ids, list):
        ids = [str(i) for i in ids]
        removed += await run_in_threadpool(lambda: queue.delete(ids, statuses=statuses))
    if removed:
        await run_in_threadpool(_server(request).worker.forget_removed)
    return JSONResponse({"removed": removed})


async def post_queue(request: Request) -> Response:
    return await _clear_or_delete(request, ("pending",))


async def get_history(request: Request) -> Response:
    raw = request.query_params.get("max_items")
    max_items = int(raw) if raw and raw.isdigit() else None
    rows = await run_in_threadpool(_server(request).queue.history, max_items)
    return JSONResponse({r.id: history_entry(r) for r in rows})


async def get_history_item(request: Request) -> Response:
    row = await run_in_threadpool(_server(request).queue.get, request.path_params["prompt_id"])
    if row is None or row.status not in FINISHED:
        return JSONResponse({})
    return JSONResponse({row.id: history_entry(row)})


async def post_history(request: Request) -> Response:
    return await _clear_or_delete(request, FINISHED)


async def post_interrupt(request: Request) -> Response:
    try:
        body = await _json(request, {})
    except Rejected:
        body = {}
    prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
    done = _server(request).worker.interrupt(prompt_id if isinstance(prompt_id, str) else None)
    return JSONResponse({"interrupted": done})


routes = [
    Route("/prompt", get_prompt, methods=["GET"]),
    Route("/prompt", post_prompt, methods=["POST"]),
    Route("/queue", get_queue, methods=["GET"]),
    Route("/queue", post_queue, methods=["POST"]),
    Route("/history", get_history, methods=["GET"]),
    Route("/history", post_history, methods=["POST"]),
    Route("/history/{prompt_id}", get_history_item, methods=["GET"]),
    Route("/interrupt", post_interrupt, methods=["POST"]),
]
