"""Run events → ComfyUI WebSocket messages, for one prompt.

ComfyUI's sequence: execution_start, execution_cached {nodes}, then per node `executing`
{node}, `progress` {value, max, node} and `progress_state` {nodes: {id: {value, max, state,
…}}}, `executed` {node, output} for output nodes, and at the end execution_success |
execution_error | execution_interrupted, followed (by the worker, once history is written)
by `executing` {node: null}.

Every message names the node the user placed (its `source` in the plan), never a node a
macro unrolled: a node whose planned nodes all come from the cache is listed in
execution_cached, and the progress of every unrolled step shows on the macro node. A
user's node planned as one node reports its sampler's steps as they are (3 of 20); one
planned as several (a macro) reports its progress over all of them, each weighted by its
predicted model calls (by one each when none are predicted), the cached ones counted done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from graphrt.core import events as ev
from graphrt.core.plan import Plan

Send = Callable[[str, dict[str, Any]], None]
Final = tuple[str, dict[str, Any]]


def now_ms() -> int:
    return int(time.time() * 1000)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 3)


class NodeProgress:
    """One user node's progress over its planned nodes in this run."""

    def __init__(self, weights: dict[str, float], cached: set[str]) -> None:
        self.weights = weights  # planned node → its share of the work
        self.single = len(weights) == 1
        self.left = {n for n in weights if n not in cached}  # planned nodes still to finish
        self.done = sum(w for n, w in weights.items() if n in cached)
        self.value: float = self.done
        self.max: float = sum(weights.values()) or 1
        self.state = "pending"

    def step(self, node: str, step: int, total: int) -> None:
        if self.single:
            self.value, self.max = step, total or 1
        else:
            self.value = self.done + self.weights.get(node, 0) * step / (total or 1)

    def finish(self, node: str) -> bool:
        """Count `node` done; True when it was the user node's last one."""
        self.left.discard(node)
        self.done += self.weights.get(node, 0)
        if not self.single:
            self.value = min(self.done, self.max)
        if not self.left:
            self.state, self.value = "finished", self.max
        return not self.left


class RunMessages:
    """An event sink that sends ComfyUI messages for one prompt and remembers the outcome."""

    def __init__(self, prompt_id: str, class_types: dict[str, str], send: Send,
                 sources: dict[str, str] | None = None) -> None:
        self.prompt_id, self.class_types, self.send = prompt_id, class_types, send
        self.sources = sources or {}  # node id in the plan → the user's node
        self.calls: dict[str, int | None] = {}  # node id in the plan → predicted model calls
        self.progress: dict[str, NodeProgress] = {}  # the user's node → its progress
        self.current: str | None = None
        self.executed: list[str] = []
        self.cached: list[str] = []
        self.failure: ev.NodeFailed | None = None
        self.log: list[list[Any]] = []  # [type, data] of the status messages, for history

    def use_plan(self, plan: Plan) -> None:
        """Name the user's nodes, and weigh planned nodes by their predicted model calls."""
        self.sources = {n: plan.node(n).source for n in plan.order}
        self.calls = {n: plan.model_calls(n) for n in plan.order}

    def top(self, node: str) -> str:
        """The user's node for a node of the plan."""
        return self.sources.get(node, node)

    def _status(self, kind: str, data: dict[str, Any]) -> None:
        self.log.append([kind, data])
        self.send(kind, data)

    def _final(self, kind: str, data: dict[str, Any]) -> Final:
        """The closing status message: built here, sent by the worker after history."""
        return kind, data

    def _start(self, event: ev.RunStarted) -> None:
        groups: dict[str, list[str]] = {}
        for node in [*event.to_execute, *event.cached]:
            groups.setdefault(self.top(node), []).append(node)
        cached = set(event.cached)
        for top, nodes in groups.items():
            if all(n in cached for n in nodes):
                continue
            calls = [self.calls.get(n) for n in nodes]
            by_calls = all(c is not None for c in calls) and sum(c or 0 for c in calls) > 0
            weights = {n: float(c or 0) if by_calls else 1.0
                       for n, c in zip(nodes, calls, strict=True)}
            self.progress[top] = NodeProgress(weights, cached)

    def _send_state(self) -> None:
        pid = self.prompt_id
        nodes = {top: {"value": _num(p.value), "max": _num(p.max), "state": p.state,
                       "node_id": top, "prompt_id": pid, "display_node_id": top,
                       "parent_node_id": None, "real_node_id": top}
                 for top, p in self.progress.items() if p.state != "pending"}
        self.send("progress_state", {"prompt_id": pid, "nodes": nodes})

    def _send_progress(self, top: str, p: NodeProgress) -> None:
        self.send("progress", {"value": _num(p.value), "max": _num(p.max),
                               "prompt_id": self.prompt_id, "node": top})
        self._send_state()

    def __call__(self, event: ev.Event) -> None:
        pid = self.prompt_id
        if isinstance(event, ev.RunStarted):
            self._status("execution_start", {"prompt_id": pid, "timestamp": now_ms()})
            running = {self.top(n) for n in event.to_execute}
            self.cached = [n for n in _unique([self.top(n) for n in event.cached])
                           if n not in running]
            self._status("execution_cached", {"nodes": self.cached, "prompt_id": pid,
                                              "timestamp": now_ms()})
            self._start(event)
        elif isinstance(event, ev.NodeStarted):
            node = self.top(event.node)
            if node != self.current:
                self.current = node
                self.send("executing", {"node": node, "display_node": node, "prompt_id": pid})
            p = self.progress.get(node)
            if p is not None and p.state == "pending":
                p.state = "running"
                self._send_state()
        elif isinstance(event, ev.Progress):
            node = self.top(event.node)
            p = self.progress.get(node)
            if p is None:  # a node the run did not announce: report it as it comes
                self.send("progress", {"value": event.step, "max": event.total,
                                       "prompt_id": pid, "node": node})
                return
            p.step(event.node, event.step, event.total)
            self._send_progress(node, p)
        elif isinstance(event, ev.NodeFinished):
            node = self.top(event.node)
            self.executed.append(node)
            p = self.progress.get(node)
            if p is not None:
                before = p.value
                last = p.finish(event.node)
                if not p.single and p.value != before:  # a step that reported no progress
                    self._send_progress(node, p)
                elif last:
                    self._send_state()
        elif isinstance(event, ev.NodeFailed):
            p = self.progress.get(self.top(event.node))
            if p is not None:
                p.state = "error"
                self._send_state()
            if self.failure is None:
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
