"""Checking a POST /prompt body before it is queued: shape, format, validity, limits, paths.

    {"prompt": <ComfyUI API prompt or native document>, "client_id": "...",
     "args": {...} (native documents only), "extra_data": {...}, "prompt_id": "..."}

Everything that can be known before running is checked here, so a queued prompt fails only
for reasons that appear at run time. A refusal is a `Rejected` carrying the HTTP status and
a ComfyUI-shaped body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidGraph, Issue, show
from ..expand import expand
from ..formats import is_native
from ..paths import Folders, UnsafePath, confined
from ..plan import make_plan
from ..runtime import Runtime
from ..validate import Graph
from .config import Limits
from .node_errors import error_body, simple_error

PROMPT_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
# Params that name files, and the folder each must stay inside.
FILE_PARAMS: dict[str, tuple[str, Callable[[Folders, str], Path]]] = {
    "model.load_checkpoint": ("name", lambda f, n: f.model_file("checkpoints", n)),
    "model.load_upscaler": ("name", lambda f, n: f.model_file("upscale_models", n)),
    "image.load": ("name", lambda f, n: confined(f.input, n)),
    "mask.load": ("name", lambda f, n: confined(f.input, n)),
    "image.save": ("prefix", lambda f, n: confined(f.output, f"{n}_00000_.png")),
}


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
        return not is_native(self.prompt)

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


def check(sub: Submission, runtime: Runtime, limits: Limits) -> None:
    """Translate, validate, expand and check limits and file names; raises Rejected(400)."""
    count = len(sub.prompt) if sub.comfy else len(sub.prompt.get("nodes") or {})
    if count > limits.max_nodes:
        raise Rejected(400, simple_error(
            "too_many_nodes", f"the prompt has {count} nodes; this server takes at most "
            f"{limits.max_nodes}"))
    try:
        graph = expand(runtime.load(sub.prompt, args=sub.args), runtime.registry)
        issues = limit_issues(graph, limits) + path_issues(graph, runtime.folders)
        if not issues:
            make_plan(graph, folders=runtime.folders)  # keys: fingerprints (missing files)
    except InvalidGraph as exc:
        issues = exc.issues
    if issues:
        raise Rejected(400, error_body(issues, sub.prompt, sub.class_types, sub.comfy))


def limit_issues(graph: Graph, limits: Limits) -> list[Issue]:
    """Sizes, steps and batches beyond the server's limits, per node."""
    issues = []
    for node in graph.nodes.values():
        p = node.params
        width, height = getattr(p, "width", None), getattr(p, "height", None)
        checks = [("batch", getattr(p, "batch", None), limits.max_batch),
                  ("steps", getattr(p, "steps", None), limits.max_steps)]
        if isinstance(width, int) and isinstance(height, int) and \
                not node.spec.name.startswith("text."):
            checks.append(("width", width * height, limits.max_pixels))
        for name, value, limit in checks:
            if isinstance(value, int) and value > limit:
                what = "pixels (width × height)" if name == "width" else name
                issues.append(Issue(code="limit_exceeded", node=node.id, field=f"params.{name}",
                                    message=f"{value} {what} is over this server's limit of "
                                    f"{limit}", expected=f"<= {limit}", found=str(value)))
    return issues


def path_issues(graph: Graph, folders: Folders) -> list[Issue]:
    """File-name params that would leave their folder."""
    issues = []
    for node in graph.nodes.values():
        entry = FILE_PARAMS.get(node.spec.name)
        if entry is None:
            continue
        param, resolve = entry
        value = getattr(node.params, param, None)
        if not isinstance(value, str):
            continue
        try:
            resolve(folders, value)
        except UnsafePath as exc:
            issues.append(Issue(code="unsafe_path", node=node.id, field=f"params.{param}",
                                message=str(exc), expected="a name inside its folder",
                                found=show(value)))
    return issues
