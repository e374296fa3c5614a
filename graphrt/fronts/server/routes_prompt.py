"""ComfyUI's prompt endpoints: /prompt, /queue, /history, /interrupt.

    POST /prompt   {"prompt": ..., "client_id": ...} → {"prompt_id", "number", "node_errors"}
                   (node_errors: why outputs were left out of a prompt that skips them)
    GET  /queue    → {"queue_running": [[number, id, prompt, extra_data, outputs]], ...}
    POST /queue    {"clear": true} | {"delete": [ids]} (a running id is interrupted)
    GET  /history[/{id}][?max_items=N&offset=K]  → {id: {"prompt": [...], "outputs": {...},
                   "status": {...}}}, oldest first; X-History-Total, X-History-Offset headers
    POST /history  {"clear": true} | {"delete": [ids]}
    POST /interrupt  [{"prompt_id": id}]: every running prompt, or only that one

A submission is prepared (at most `max_planning` at once) before it is queued; while it is,
`/interrupt` (no id, or its id) and clearing the queue or deleting its id cancel it: it is
answered 409 prompt_cancelled and never queued. /history pages as ComfyUI does (`offset`
counts from the oldest; without it, the newest `max_items`), at most `history_page` entries
and `max_history_bytes` of stored prompts per answer.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphrt.compat.comfy.classes import is_output_class
from graphrt.compat.comfy.node_errors import simple_error
from graphrt.compat.comfy.outputs import output_nodes
from graphrt.core.errors import Cancelled
from graphrt.fronts.server.planning import InUse
from graphrt.fronts.server.queue import FINISHED, PromptRow, QueueFull
from graphrt.fronts.server.submit import Rejected, accepted_errors, check, parse

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
        sub = parse(await _json(request), server.config.limits)
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    prompt_id = sub.prompt_id or str(uuid.uuid4())
    try:
        with server.planning.track(prompt_id) as cancel:
            plan = await anyio.to_thread.run_sync(
                lambda: check(sub, server.runtime, server.config.limits, cancel=cancel,
                              roots=server.roots), limiter=server.planners)
            server.worker.plans[prompt_id] = plan  # the worker takes it from here
            number = await run_in_threadpool(
                server.planning.commit, cancel,
                lambda: server.queue.add(prompt_id, sub.stored(plan), sub.client_id,
                                         server.config.limits.max_queue))
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    except InUse:
        return _refused(400, "invalid_prompt", f"prompt_id {prompt_id!r} is being submitted")
    except Cancelled:
        server.worker.plans.pop(prompt_id, None)
        return _refused(409, "prompt_cancelled", "the prompt was cancelled (interrupt, or "
                        "the queue cleared) while it was being checked; it was not queued")
    except QueueFull as exc:
        server.worker.plans.pop(prompt_id, None)
        return JSONResponse(simple_error("queue_full", f"{exc}; try again later"),
                            status_code=503, headers={"Retry-After": "5"})
    except sqlite3.IntegrityError:
        server.worker.plans.pop(prompt_id, None)
        return _refused(400, "invalid_prompt", f"prompt_id {prompt_id!r} is already used")
    except BaseException:  # a storage fault: 503 from the app's handler
        server.worker.plans.pop(prompt_id, None)
        raise
    server.worker.wake.set()
    server.hub.send("status", server.worker.status())
    return JSONResponse({"prompt_id": prompt_id, "number": number,
                         "node_errors": accepted_errors(sub, plan, server.roots)})


def _refused(status: int, kind: str, message: str) -> Response:
    return JSONResponse(simple_error(kind, message), status_code=status)


def queue_item(row: PromptRow) -> list[Any]:
    """ComfyUI's queue tuple: [number, prompt_id, prompt, extra_data, outputs_to_execute]."""
    prompt = row.body["prompt"]
    dropped = set(row.body.get("dropped_outputs") or ())  # left out as they failed checks
    if row.body.get("format") == "comfy":
        outputs = [n for n, c in row.body.get("class_types", {}).items()
                   if is_output_class(c) and n not in dropped]
    else:
        outputs = list(dict.fromkeys(n for k, n in output_nodes(prompt).items()
                                     if k not in dropped))
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
    """Clear or delete prompts; for the queue, submissions still being planned too."""
    server = _server(request)
    queue = server.queue
    try:
        body = await _json(request, {})
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    if not isinstance(body, dict):
        return JSONResponse(simple_error("invalid_request", "expected a JSON object"), 400)
    pending = "pending" in statuses
    removed = 0
    if body.get("clear"):
        removed += await run_in_threadpool(
            server.planning.cancel_then, None if pending else [],
            lambda: queue.clear(statuses=statuses))
    ids = body.get("delete")
    stopped: list[str] = []
    if isinstance(ids, list):
        names = [str(i) for i in ids]
        removed += await run_in_threadpool(
            server.planning.cancel_then, names if pending else [],
            lambda: queue.delete(names, statuses=statuses))
        if pending:  # a running prompt deleted from the queue is interrupted
            stopped = [n for n in names if await run_in_threadpool(server.worker.interrupt, n)]
    if removed:
        await run_in_threadpool(server.worker.forget_removed)
    return JSONResponse({"removed": removed, **({"interrupted": stopped} if stopped else {})})


async def post_queue(request: Request) -> Response:
    return await _clear_or_delete(request, ("pending",))


def _count(request: Request, name: str) -> int | None:
    """A non-negative integer query parameter; None when absent; Rejected when invalid."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise Rejected(400, simple_error("invalid_request", f"{name} must be a whole number "
                                         f">= 0, not {raw[:40]!r}"))
    return int(raw)


async def get_history(request: Request) -> Response:
    server = _server(request)
    limits = server.config.limits
    try:
        max_items, offset = _count(request, "max_items"), _count(request, "offset")
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    size = min(max_items if max_items is not None else limits.history_page, limits.history_page)
    page = await run_in_threadpool(server.queue.history_page, size, offset,
                                   limits.max_history_bytes)
    return JSONResponse({r.id: history_entry(r) for r in page.rows},
                        headers={"X-History-Total": str(page.total),
                                 "X-History-Offset": str(page.offset)})


async def get_history_item(request: Request) -> Response:
    row = await run_in_threadpool(_server(request).queue.get, request.path_params["prompt_id"])
    if row is None or row.status not in FINISHED:
        return JSONResponse({})
    return JSONResponse({row.id: history_entry(row)})


async def post_history(request: Request) -> Response:
    return await _clear_or_delete(request, FINISHED)


async def post_interrupt(request: Request) -> Response:
    """Interrupt every running prompt and cancel submissions being planned, as ComfyUI's
    global interrupt; only `prompt_id`, when given (newer ComfyUI clients send it)."""
    server = _server(request)
    try:
        body = await _json(request, {})
    except Rejected:
        body = {}
    given = body.get("prompt_id") if isinstance(body, dict) else None
    prompt_id = given if isinstance(given, str) else None
    done = await run_in_threadpool(server.worker.interrupt, prompt_id)
    cancelled = server.planning.cancel(None if prompt_id is None else [prompt_id])
    return JSONResponse({"interrupted": done or cancelled > 0})


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
