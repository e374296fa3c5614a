"""Checking a POST /prompt body before it is queued: shape, format, validity, limits, paths.

    {"prompt": <ComfyUI API prompt or native document>, "client_id": "...",
     "args": {...} (native documents only), "extra_data": {...}, "prompt_id": "..."}

Everything that can be known before running is checked here, so a queued prompt fails only
for reasons that appear at run time: the document is prepared once (load, check, expand, the
server's checks from what ops declare, plan), and the plan goes to the worker with the
prompt. A refusal is a `Rejected` carrying the HTTP status and a ComfyUI-shaped body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from graphrt.compat.comfy.node_errors import error_body, simple_error
from graphrt.compat.formats import is_comfy
from graphrt.core.errors import InvalidGraph, show
from graphrt.core.plan import Plan
from graphrt.core.runtime import Runtime
from graphrt.fronts.server.checks import cost_check, file_check
from graphrt.fronts.server.config import Limits

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
        if self.comfy:
            return {str(k): str(v.get("class_type")) for k, v in self.prompt.items()
                    if isinstance(v, dict)}
        nodes = self.prompt.get("nodes")
        return {str(k): str(v.get("op")) for k, v in (nodes or {}).items()
                if isinstance(v, dict)} if isinstance(nodes, dict) else {}

    def stored(self) -> dict[str, Any]:
        """What the queue keeps: enough to run (and re-run after a restart)."""
        return {"prompt": self.prompt, "args": self.args, "extra_data": self.extra_data,
                "class_types": self.class_types, "format": "comfy" if self.comfy else "native"}


def parse(body: Any) -> Submission:
    """Shape checks on the request body; raises Rejected(400)."""
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
    sub = Submission(prompt, client_id, args, extra or {}, prompt_id)
    if args and sub.comfy:
        raise Rejected(400, simple_error("invalid_prompt",
                                         "args are for native graphrt documents only"))
    return sub


def check(sub: Submission, runtime: Runtime, limits: Limits) -> Plan:
    """Prepare the prompt with the server's checks; its plan, or Rejected(400)."""
    count = len(sub.prompt) if sub.comfy else len(sub.prompt.get("nodes") or {})
    if count > limits.max_nodes:
        raise Rejected(400, simple_error(
            "too_many_nodes", f"the prompt has {count} nodes; this server takes at most "
            f"{limits.max_nodes}"))
    try:
        return runtime.prepare(sub.prompt, args=sub.args,
                               checks=[cost_check(limits), file_check(runtime.folders)])
    except InvalidGraph as exc:
        raise Rejected(400, error_body(exc.issues, sub.prompt, sub.class_types,
                                       sub.comfy)) from None
