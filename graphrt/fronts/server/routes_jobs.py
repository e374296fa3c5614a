"""The jobs view the editor's queue and history panels read (ComfyUI's /api/jobs).

    GET  /jobs?status=pending,in_progress,completed,failed,cancelled&limit=N&offset=K
              &sort_by=created_at|execution_duration&sort_order=desc|asc&workflow_id=W
         → {"jobs": [job], "pagination": {"offset", "limit", "total", "has_more"}}
    GET  /jobs/{id}        → job + {"outputs", "execution_status", "workflow": {"prompt",
                             "extra_data"}}; 404 {"error"} unknown
    POST /jobs/{id}/cancel → {"cancelled": [id]} (interrupts it when running, removes it
                             from the queue when pending, stops its planning); 404 unknown
    POST /jobs/cancel {"job_ids": [id, ...]} → {"cancelled": [...]}

A job: {"id", "status", "priority" (its queue number), "create_time",
"execution_start_time", "execution_end_time" (ms), "outputs_count", "preview_output"
({filename, subfolder, type, nodeId, mediaType}), "execution_error" (the execution_error
message of a failed one), "workflow_id"} — the fields ComfyUI's comfy_execution/jobs.py
gives, with the editor's required ones (id, status, create_time) always present. Statuses
map from the queue's: pending, running → in_progress, success → completed, error → failed,
interrupted → cancelled. A page holds at most `Limits.history_page` jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphrt.fronts.server.queue import JobRow, PromptRow
from graphrt.fronts.server.routes_prompt import _json, queue_item
from graphrt.fronts.server.submit import Rejected

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server

JOB_STATUS = {"pending": "pending", "running": "in_progress", "success": "completed",
              "error": "failed", "interrupted": "cancelled"}
QUEUE_STATUS = {v: k for k, v in JOB_STATUS.items()}
END_MESSAGES = ("execution_success", "execution_error", "execution_interrupted")


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def _outputs_summary(outputs: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """(how many files the outputs list, the first image as a preview)."""
    count, preview = 0, None
    for node, media in outputs.items():
        for kind, items in (media or {}).items() if isinstance(media, dict) else ():
            if not isinstance(items, list):
                continue
            for item in items:
                if not isinstance(item, dict):
                    continue
                count += 1
                if preview is None and kind in ("images", "video", "audio"):
                    preview = {**item, "nodeId": node, "mediaType": kind}
    return count, preview


def _execution_error(status: dict[str, Any]) -> dict[str, Any] | None:
    """The execution_error message of a failed prompt, with the fields the editor requires."""
    for kind, data in reversed(status.get("messages") or []):
        if kind == "execution_error" and isinstance(data, dict):
            return {**data, "node_id": str(data.get("node_id") or ""),
                    "node_type": str(data.get("node_type") or ""),
                    "exception_message": str(data.get("exception_message") or ""),
                    "exception_type": str(data.get("exception_type") or ""),
                    "traceback": [str(t) for t in data.get("traceback") or []]}
    return None


def job(row: JobRow) -> dict[str, Any]:
    """One job as the editor lists it; None values are left out, as ComfyUI prunes them."""
    result = row.result or {}
    count, preview = _outputs_summary(result.get("outputs") or {})
    fields = {"id": row.id, "status": JOB_STATUS.get(row.status, "failed"),
              "priority": row.number, "create_time": _ms(row.created),
              "execution_start_time": _ms(row.started), "execution_end_time": _ms(row.finished),
              "outputs_count": count, "preview_output": preview,
              "execution_error": _execution_error(result.get("status") or {})
              if row.status == "error" else None,
              "workflow_id": row.workflow_id}
    return {k: v for k, v in fields.items() if v is not None}


def job_detail(row: PromptRow) -> dict[str, Any]:
    """A job with its outputs, status messages and workflow (prompt and extra_data)."""
    extra = row.body.get("extra_data") or {}
    workflow = (extra.get("extra_pnginfo") or {}).get("workflow")
    result = row.result or {}
    summary = job(JobRow(row.id, row.number, row.status, row.created, row.started,
                         row.finished, workflow.get("id") if isinstance(workflow, dict) and
                         isinstance(workflow.get("id"), str) else None, row.result))
    item = queue_item(row)
    return {**summary, "outputs": result.get("outputs") or {},
            "execution_status": result.get("status") or {},
            "workflow": {"prompt": item[2], "extra_data": item[3]}}


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


async def list_jobs(request: Request) -> Response:
    server: Server = request.app.state.server
    q = request.query_params
    wanted = [s.strip().lower() for s in (q.get("status") or "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in QUEUE_STATUS]
    if unknown:
        return _bad(f"Invalid status value(s): {', '.join(unknown)}. Valid values: "
                    f"{', '.join(QUEUE_STATUS)}")
    sort_by, sort_order = q.get("sort_by", "created_at").lower(), q.get("sort_order", "desc")
    if sort_by not in ("created_at", "execution_duration"):
        return _bad("sort_by must be 'created_at' or 'execution_duration'")
    if sort_order.lower() not in ("asc", "desc"):
        return _bad("sort_order must be 'asc' or 'desc'")
    page = server.config.limits.history_page
    try:
        limit = int(q.get("limit") or page)
        offset = max(int(q.get("offset") or 0), 0)
    except ValueError:
        return _bad("limit and offset must be integers")
    if limit <= 0:
        return _bad("limit must be a positive integer")
    limit = min(limit, page)
    statuses = tuple(QUEUE_STATUS[s] for s in wanted) or tuple(JOB_STATUS)
    rows, total = await run_in_threadpool(
        server.queue.jobs, statuses, workflow_id=q.get("workflow_id") or None,
        by_duration=sort_by == "execution_duration",
        descending=sort_order.lower() == "desc", limit=limit, offset=offset)
    return JSONResponse({"jobs": [job(r) for r in rows], "pagination": {
        "offset": offset, "limit": limit, "total": total,
        "has_more": offset + len(rows) < total}})


async def get_job(request: Request) -> Response:
    server: Server = request.app.state.server
    row = await run_in_threadpool(server.queue.get, request.path_params["job_id"])
    if row is None:
        return JSONResponse({"error": "Job not found"}, status_code=404)
    return JSONResponse(server.redact(job_detail(row)))


def cancel(server: Server, job_id: str) -> bool | None:
    """Cancel one job: True when it was stopped or removed, False when it had ended
    already, None when there is no such job (any thread)."""
    row = server.queue.get(job_id)
    if row is None:
        return True if server.planning.cancel([job_id]) else None
    if row.status == "running":
        return server.worker.interrupt(job_id)
    if row.status == "pending":
        removed = server.planning.cancel_then(
            [job_id], lambda: server.queue.delete([job_id], statuses=("pending",)))
        server.worker.forget_removed()
        server.hub.send("status", server.worker.status())
        return removed > 0
    return False


async def cancel_job(request: Request) -> Response:
    server: Server = request.app.state.server
    job_id = request.path_params["job_id"]
    done = await run_in_threadpool(cancel, server, job_id)
    if done is None:
        return JSONResponse({"error": "Job not found"}, status_code=404)
    return JSONResponse({"cancelled": [job_id] if done else []})


async def cancel_jobs(request: Request) -> Response:
    server: Server = request.app.state.server
    try:
        body = await _json(request, {})
    except Rejected as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    ids = body.get("job_ids") if isinstance(body, dict) else None
    if not (isinstance(ids, list) and 1 <= len(ids) <= 100
            and all(isinstance(i, str) for i in ids)):
        return _bad('expected {"job_ids": [1 to 100 job ids]}')
    done = [i for i in ids if await run_in_threadpool(cancel, server, i)]
    return JSONResponse({"cancelled": done})


routes = [
    Route("/jobs", list_jobs, methods=["GET"]),
    Route("/jobs/cancel", cancel_jobs, methods=["POST"]),
    Route("/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
]
