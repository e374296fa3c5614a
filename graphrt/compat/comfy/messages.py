"""Run events → ComfyUI WebSocket messages, for one prompt.

ComfyUI's sequence: execution_start, execution_cached {nodes}, then per node `executing`
{node} and `progress` {value, max}, `executed` {node, output} for output nodes, and at the
end execution_success | execution_error | execution_interrupted, followed (by the worker,
once history is written) by `executing` {node: null}. Nodes expanded from a macro are
reported as the node the user wrote (their `source` in the plan), so progress for every
unrolled step shows on the macro node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from graphrt.core import events as ev

Send = Callable[[str, dict[str, Any]], None]
Final = tuple[str, dict[str, Any]]


def now_ms() -> int:
    return int(time.time() * 1000)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class RunMessages:
    """An event sink that sends ComfyUI messages for one prompt and remembers the outcome."""

    def __init__(self, prompt_id: str, class_types: dict[str, str], send: Send,
                 sources: dict[str, str] | None = None) -> None:
        self.prompt_id, self.class_types, self.send = prompt_id, class_types, send
        self.sources = sources or {}  # node id in the plan → the user's node
        self.current: str | None = None
        self.executed: list[str] = []
        self.cached: list[str] = []
        self.failure: ev.NodeFailed | None = None
        self.log: list[list[Any]] = []  # [type, data] of the status messages, for history

    def top(self, node: str) -> str:
        """The user's node for a node of the plan."""
        return self.sources.get(node, node)

    def _status(self, kind: str, data: dict[str, Any]) -> None:
        self.log.append([kind, data])
        self.send(kind, data)

    def _final(self, kind: str, data: dict[str, Any]) -> Final:
        """The closing status message: built here, sent by the worker after history."""
        return kind, data

    def __call__(self, event: ev.Event) -> None:
        pid = self.prompt_id
        if isinstance(event, ev.RunStarted):
            self._status("execution_start", {"prompt_id": pid, "timestamp": now_ms()})
            running = {self.top(n) for n in event.to_execute}
            self.cached = [n for n in _unique([self.top(n) for n in event.cached])
                           if n not in running]
            self._status("execution_cached", {"nodes": self.cached, "prompt_id": pid,
                                              "timestamp": now_ms()})
        elif isinstance(event, ev.NodeStarted):
            node = self.top(event.node)
            if node != self.current:
                self.current = node
                self.send("executing", {"node": node, "display_node": node, "prompt_id": pid})
        elif isinstance(event, ev.Progress):
            self.send("progress", {"value": event.step, "max": event.total, "prompt_id": pid,
                                   "node": self.top(event.node)})
        elif isinstance(event, ev.NodeFinished):
            self.executed.append(self.top(event.node))
        elif isinstance(event, ev.NodeFailed) and self.failure is None:
            self.failure = event

    def executed_output(self, node: str, output: dict[str, Any]) -> None:
        self.send("executed", {"node": node, "display_node": node, "output": output,
                               "prompt_id": self.prompt_id})

    def success(self) -> Final:
        return self._final("execution_success", {"prompt_id": self.prompt_id,
                                                 "timestamp": now_ms()})

    def interrupted(self) -> Final:
        node = self.current
        return self._final("execution_interrupted", {
            "prompt_id": self.prompt_id, "node_id": node,
            "node_type": self.class_types.get(node or "", ""),
            "executed": _unique(self.executed), "timestamp": now_ms()})

    def error(self, message: str | None = None, exc_type: str = "", trace: str = "") -> Final:
        failure = self.failure
        node = self.top(failure.node) if failure else self.current
        return self._final("execution_error", {
            "prompt_id": self.prompt_id, "node_id": node,
            "node_type": self.class_types.get(node or "", failure.op if failure else ""),
            "executed": _unique(self.executed),
            "exception_message": message or (failure.message if failure else "failed"),
            "exception_type": exc_type or (failure.error_type if failure else ""),
            "traceback": (trace or (failure.traceback if failure else "")).splitlines(),
            "current_inputs": {}, "current_outputs": {}, "timestamp": now_ms()})
