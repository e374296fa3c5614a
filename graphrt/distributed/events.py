"""Events of a distributed run, beside the core's (graphrt.core.events): where each part of
a prompt went and why, and workers lost while a prompt ran. Sinks that do not know them
ignore them (the ComfyUI message sink does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphrt.core.events import Event


@dataclass(frozen=True)
class PartRouted(Event):
    """Part `part` of the run goes to `worker`: the nodes it runs there, the inputs it takes
    from other workers (`fetched`: key → the worker it comes from) and the router's reason
    (`reason`: router, score and its terms)."""

    part: int
    worker: str
    nodes: list[str]
    fetched: dict[str, str] = field(default_factory=dict)
    reason: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerLost(Event):
    """`worker` died (or stopped answering) while it ran or held part of this run; the run
    goes on from what the cluster still holds."""

    worker: str
    detail: str
