"""Checking a POST /prompt body before it is queued: shape, format, validity, limits, paths.

    {"prompt": <ComfyUI API prompt or native document>, "client_id": "...",
     "args": {...} (native documents only), "extra_data": {...}, "prompt_id": "..."}

Everything that can be known before running is checked here, so a queued prompt fails only
for reasons that appear at run time: the document is prepared once (load, check, expand
within the server's budget, the server's checks from what ops declare, plan), and the plan
goes to the worker with the prompt. A document that skips invalid outputs (every ComfyUI
prompt) is accepted without the outputs that fail, their issues answered as `node_errors`
(`accepted_errors`), as ComfyUI does; it is refused only when every output fails. A
refusal is a `Rejected` carrying the HTTP status and a ComfyUI-shaped body naming files
relative to their folders; a document that makes a checker raise is refused too (400),
never answered 500. Setting the cancel flag stops preparing (`Cancelled`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphrt.compat.comfy import ui
from graphrt.compat.comfy.node_errors import (
    dropped_node_errors,
    error_body,
    redact,
    simple_error,
)
from graphrt.compat.formats import is_comfy
from graphrt.core.errors import InvalidGraph, show
from graphrt.core.plan import Plan
from graphrt.core.runtime import Runtime
from graphrt.fronts.server.checks import CostMeter, file_check
from graphrt.fronts.server.config import Limits

log = logging.getLogger("graphrt.fronts.server")

PROMPT_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class Rejected(Exception):
    """A submission refused with an HTTP status and a JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", {}).get("message", "rejected"))
        self.status, self.body = status, body


@dataclass
class Submission:
    """A parsed POST /prompt body."""

    prompt: dict[str, Any]
    client_id: str | None = None
    args: dict[str, Any] | None = None
    extra_data: dict[str, Any] = field(default_factory=dict)
    prompt_id: str | None = None

    @property
    def comfy(self) -> bool:
        return is_comfy(self.prompt)

    @property
    def class_types(self) -> dict[str, str]:
        """Node id → class_type (ComfyUI) or op name (native), for messages and errors."""
        if ui.detect(self.prompt):
            return ui.class_types(self.prompt)
        if self.comfy:
            return {str(k): str(v.get("class_type")) for k, v in self.prompt.items()
                    if isinstance(v, dict)}
        nodes = self.prompt.get("nodes")
        return {str(k): str(v.get("op")) for k, v in (nodes or {}).items()
                if isinstance(v, dict)} if isinstance(nodes, dict) else {}

    def stored(self, plan: Plan | None = None) -> dict[str, Any]:
        """What the queue keeps: enough to run (and re-run after a restart), and the
        outputs its `plan` left out."""
        body: dict[str, Any] = {
            "prompt": self.prompt, "args": self.args, "extra_data": self.extra_data,
            "class_types": self.class_types, "format": "comfy" if self.comfy else "native"}
        if plan is not None and plan.dropped_outputs:
            body["dropped_outputs"] = list(plan.dropped_outputs)
        return body


def parse(body: Any, limits: Limits | None = None) -> Submission:
    """Shape checks on the request body; raises Rejected (400, or 413 for an extra_data
    over the limit)."""
    if not isinstance(body, dict) or "prompt" not in body:
        raise Rejected(400, simple_error("no_prompt", "No prompt provided",
                                         'expected {"prompt": {...}, "client_id": "..."}'))
    prompt = body["prompt"]
    if not isinstance(prompt, dict) or not prompt:
        raise Rejected(400, simple_error("invalid_prompt", "the prompt must be a JSON object",
                                         f"found {show(prompt)}"))
    client_id, args, extra = body.get("client_id"), body.get("args"), body.get("extra_data")
    prompt_id = body.get("prompt_id")
    problems = [name for name, value, kind in (("client_id", client_id, str),
                                                ("args", args, dict),
                                                ("extra_data", extra, dict),
                                                ("prompt_id", prompt_id, str))
                if value is not None and not isinstance(value, kind)]
    if prompt_id is not None and isinstance(prompt_id, str) and not PROMPT_ID_RE.match(prompt_id):
        problems.append("prompt_id")
    if problems:
        raise Rejected(400, simple_error("invalid_prompt", f"invalid {', '.join(problems)}"))
    if extra and limits is not None:
        try:
            size = len(json.dumps(extra))
        except (ValueError, RecursionError):
            size = limits.max_extra_data_bytes + 1
        if size > limits.max_extra_data_bytes:
            raise Rejected(413, simple_error(
                "extra_data_too_large", f"extra_data is over this server's limit of "
                f"{limits.max_extra_data_bytes} bytes"))
    sub = Submission(prompt, client_id, args, extra or {}, prompt_id)
    if args and sub.comfy:
        raise Rejected(400, simple_error("invalid_prompt",
                                         "args are for native graphrt documents only"))
    return sub


def prepare(sub: Submission, runtime: Runtime, limits: Limits, *,
            cancel: threading.Event | None = None) -> Plan:
    """Prepare the prompt within the server's limits; raises InvalidGraph, Cancelled, or
    Rejected(400) for too many nodes."""
    count = len(sub.class_types) if sub.comfy else len(sub.prompt.get("nodes") or {})
    if count > limits.max_nodes:
        raise Rejected(400, simple_error(
            "too_many_nodes", f"the prompt has {count} nodes; this server takes at most "
            f"{limits.max_nodes}"))
    meter = CostMeter(limits, runtime.folders)
    return runtime.prepare(sub.prompt, args=sub.args, checks=[file_check(runtime.folders)],
                           budget=meter.budget(), cancel=cancel)


def check(sub: Submission, runtime: Runtime, limits: Limits, *,
          cancel: threading.Event | None = None,
          roots: Mapping[str, Path] | None = None) -> Plan:
    """`prepare`, with every refusal a Rejected(400) carrying a ComfyUI-shaped body."""
    try:
        return prepare(sub, runtime, limits, cancel=cancel)
    except InvalidGraph as exc:
        raise Rejected(400, error_body(exc.issues, sub.prompt, sub.class_types, sub.comfy,
                                       roots)) from None
    except CHECKER_ERRORS as exc:
        raise unchecked(exc, roots) from None


def accepted_errors(sub: Submission, plan: Plan, roots: Mapping[str, Path] | None = None
                    ) -> dict[str, Any]:
    """The `node_errors` of an accepted prompt: why each output left out of it was (empty
    when none was; ComfyUI prompts skip outputs that fail their checks)."""
    if not plan.dropped_outputs:
        return {}
    return dropped_node_errors(plan.dropped_outputs, sub.prompt, sub.class_types, sub.comfy,
                               roots)


CHECKER_ERRORS = (ValueError, TypeError, ArithmeticError, LookupError, RecursionError)


def unchecked(exc: BaseException, roots: Mapping[str, Path] | None = None) -> Rejected:
    """The refusal of a document that made a checker raise (a 400, never a 500)."""
    log.warning("a prompt made a checker raise", exc_info=exc)
    return Rejected(400, redact(simple_error(
        "invalid_prompt", "the prompt could not be checked",
        f"{type(exc).__name__}: {show(str(exc), 200)}"), roots or {}))


def stored_submission(body: dict[str, Any]) -> Submission:
    """The submission a queued prompt's stored body holds (to prepare it again)."""
    return Submission(body["prompt"], args=body.get("args") or None)
