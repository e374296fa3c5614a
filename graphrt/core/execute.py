"""Execution: walk a plan, take what the cache has, run the rest, store, report.

Only nodes that the requested outputs need are touched: a cached node whose consumers are
all cached is never even loaded. A failing node fails only its dependents; independent
branches finish and are cached. An interrupt stops the run at the next progress tick or
between nodes; what finished stays cached. A cache entry that turns out corrupt (or was
evicted) is recomputed from its inputs, using an explicit stack (no recursion).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from . import meter
from .context import OpContext
from .document import Ref
from .errors import Cancelled, CorruptEntry, Issue
from .paths import Folders
from .plan import Plan, Status, decide
from .store import MISSING, Store
from .values import content_digest, to_device


@dataclass
class RunResult:
    """What a run produced and did."""

    run_id: str
    outputs: dict[str, Any]
    executed: list[str]
    cached: list[str]
    failed: dict[str, dict[str, str]]
    blocked: dict[str, str]
    interrupted: bool
    stats: dict[str, Any]
    statuses: dict[str, Status] = field(default_factory=dict)
    dropped_outputs: dict[str, list[Issue]] = field(default_factory=dict)  # see Plan's

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked and not self.interrupted


# Run ids: 32 hex digits, as a uuid4's, without drawing random bytes per run: a random prefix
# drawn once, the process id (a forked child differs) and a counter.
_RUN_PREFIX = uuid.uuid4().hex[:16]
_RUN_COUNTER = itertools.count(1)
_PID = [os.getpid()]  # kept, not asked per run (a system call); a forked child updates it
if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))


_IDLE = meter.Meter()  # an Execution's meter until its run opens one (never counted into)


class _NodeFailed(Exception):
    pass


class Execution:
    """One run of one plan against one store.

    State, field by field:
    - `live`: node id → its outputs ({port: value}) while some pending consumer needs them;
      a node's entry is dropped once its last consumer in this run has executed (requested
      outputs are kept to the end).
    - `tried_load`: nodes whose cache entry was looked up already (each is looked up once;
      a miss or a corrupt entry means recompute).
    - `executed`: nodes run in this run, in order; `failed`: node → {op, message,
      error_type}; `blocked`: node → the failed node upstream that kept it from running.
    - `model_calls`: model evaluations counted by the executor's meter over executed nodes.
    The run's device, dtype and folders come from the plan and the runtime; ops read them
    from the `OpContext` the executor injects."""

    def __init__(self, plan: Plan, store: Store, folders: Folders, sink: ev.Sink | None,
                 interrupt: threading.Event, *, strict: bool = False) -> None:
        self.plan, self.store, self.folders, self.sink = plan, store, folders, sink
        self.interrupt, self.strict = interrupt, strict
        self.run_id = f"{_RUN_PREFIX}{_PID[0] & 0xFFFFFFFF:08x}{next(_RUN_COUNTER):08x}"
        self.live: dict[str, dict[str, Any]] = {}
        self.tried_load: set[str] = set()
        self.executed: list[str] = []
        self.failed: dict[str, dict[str, str]] = {}
        self.blocked: dict[str, str] = {}
        self.model_calls = 0
        self.meter = _IDLE  # the run's counters: `run` opens them
        direct = getattr(store, "direct_put", None)
        self.put = store.put if direct is None else direct()
        self.nodes, self.keys = plan.graph.nodes, plan.keys

    def emit(self, event: ev.Event) -> None:
        if self.sink is not None:
            self.sink(event)

    def run(self) -> RunResult:
        start = time.perf_counter()
        plan = self.plan
        statuses = decide(plan, self.store)
        todo, cached = _todo_and_cached(statuses)
        everything = len(todo) == len(plan.order)
        predicted = _sum_or_none(plan.model_calls(n) for n in plan.predicting
                                 if everything or statuses[n] == "execute")
        if self.sink is not None:  # events are built only for a sink that wants them
            self.emit(ev.RunStarted(self.run_id, len(plan.order), todo, cached, predicted))
            for n in cached:
                self.emit(ev.NodeCached(self.run_id, n, plan.node(n).spec.name, plan.keys[n]))
            # a disk tier lost before or during this run: one warning event
            self.store.watch(lambda detail: self.emit(ev.CacheDegraded(self.run_id, detail)))
        upstreams, live = plan.upstreams, self.live
        remaining: dict[str, int] = {}
        if everything:  # each node is read by all its consumers in the plan
            remaining = {n: len(c) for n, c in plan.consumers.items()}
        elif todo:
            remaining = dict.fromkeys(plan.order, 0)
            for n in todo:
                for u in upstreams[n]:
                    remaining[u] += 1
        keep = {ref.node for ref in plan.outputs.values()}
        holding = getattr(self.store, "holding", None) if everything else None
        token = holding() if holding is not None else None
        interrupted = False
        is_set, failed, ensure, execute = (self.interrupt.is_set, self.failed, self._ensure,
                                           self._execute)
        try:
            with meter.measure() as self.meter:
                for n in todo:
                    if is_set():
                        raise Cancelled("interrupted")
                    if n in live:  # already recomputed while recovering another node
                        continue
                    ups = upstreams[n]
                    root = self._failed_upstream(n) if failed else None
                    if root is not None:
                        self.blocked[n] = root
                        self.emit(ev.NodeSkipped(self.run_id, n, plan.node(n).spec.name, root))
                        continue
                    try:
                        for u in ups:
                            if u not in live:
                                ensure(u)
                        execute(n)
                    except _NodeFailed:
                        continue
                    for u in ups:
                        left = remaining[u] = remaining[u] - 1
                        if left == 0 and u not in keep:
                            live.pop(u, None)
                outputs = self._outputs()
        except Cancelled:
            interrupted, outputs = True, {}
        wall = time.perf_counter() - start
        if (holding is not None and token is not None
                and len(self.executed) == len(plan.order) and holding() == token):
            plan.all_held_under = token  # every result was kept: a rerun need not ask
        executed = list(self.executed)
        done = set(self.executed)
        cached_now = [n for n in cached if n not in done] if done else cached
        if self.sink is not None:
            self.store.watch(None)
            self.sink(ev.RunFinished(self.run_id, executed, cached_now, list(self.failed),
                                     self.model_calls, wall, interrupted))
        stats = {"nodes": len(plan.order), "executed": len(executed), "cached": len(cached_now),
                 "failed": len(self.failed), "model_calls": self.model_calls,
                 "predicted_model_calls": predicted, "wall_time": wall}
        return RunResult(self.run_id, outputs, executed, cached_now, self.failed, self.blocked,
                         interrupted, stats, statuses, plan.dropped_outputs)

    def _outputs(self) -> dict[str, Any]:
        out = {}
        for name, ref in self.plan.outputs.items():
            if ref.node in self.failed or ref.node in self.blocked:
                continue
            try:
                self._ensure(ref.node)
            except _NodeFailed:
                continue
            out[name] = self.live[ref.node][ref.port]
        return out

    def _failed_upstream(self, node_id: str) -> str | None:
        for u in self.plan.upstream(node_id):
            if u in self.failed:
                return u
            if u in self.blocked:
                return self.blocked[u]
        return None

    def _ensure(self, target: str) -> None:
        """Make `target`'s outputs live: from the cache, or by (re)computing it."""
        if target in self.live:
            return
        stack = [target]
        while stack:
            n = stack[-1]
            if n in self.live:
                stack.pop()
                continue
            if n in self.failed:
                raise _NodeFailed(n)
            if n not in self.tried_load:
                self.tried_load.add(n)
                value = self._load(n)
                if value is not MISSING:
                    self.live[n] = value
                    stack.pop()
                    continue
            missing = [u for u in self.plan.upstreams[n] if u not in self.live]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            self._execute(n)

    def _load(self, node_id: str) -> Any:
        key = self.plan.keys[node_id]
        try:
            return self.store.get(key)
        except CorruptEntry as exc:
            self.emit(ev.CacheCorrupt(self.run_id, node_id, key, exc.detail))
            return MISSING

    def _execute(self, node_id: str) -> None:
        live, sink = self.live, self.sink
        node = self.nodes[node_id]
        spec = node.spec
        key = self.keys[node_id]
        if sink is not None:
            sink(ev.NodeStarted(self.run_id, node_id, spec.name, key))
        args: list[Any] = [node.params]
        inputs = node.inputs
        for port in spec.inputs:
            value = inputs.get(port.name)
            if type(value) is Ref:
                args.append(live[value.node][value.port])
            elif port.variadic:
                refs = value if isinstance(value, tuple) else ()
                args.extend(live[r.node][r.port] for r in refs if isinstance(r, Ref))
            elif isinstance(value, Ref):
                args.append(live[value.node][value.port])
            else:
                args.append(None)
        if spec.device:  # the executor places inputs; cached values are never moved in place
            device = self.plan.settings.device
            args[1:] = [to_device(a, device) for a in args[1:]]
        named = self._injected(node_id, spec.name) if spec.injected else None
        before = [content_digest(a) for a in args[1:]] if self.strict else None
        t0 = time.perf_counter() if sink is not None else 0.0
        counts = self.meter.counts
        calls_before = counts.get("model_calls", 0) if counts else 0
        try:
            result = spec.fn(*args, **named) if named else spec.fn(*args)
            outs = {spec.first_output: result} if spec.single_output else spec.outputs_of(
                result)
            if before is not None:
                _check_unmutated(spec.name, spec.inputs, args[1:], before)
        except Cancelled:
            raise
        except Exception as exc:  # an op failure must not take the run down
            info = {"op": spec.name, "message": f"{type(exc).__name__}: {exc}",
                    "error_type": type(exc).__name__}
            self.failed[node_id] = info
            self.emit(ev.NodeFailed(self.run_id, node_id, spec.name, info["message"],
                                    info["error_type"], traceback.format_exc(limit=20)))
            raise _NodeFailed(node_id) from exc
        try:  # noqa: SIM105 - contextlib.suppress costs a context manager per node
            self.put(key, outs)
        except OSError:  # a full disk must not fail the node
            pass
        live[node_id] = outs
        self.executed.append(node_id)
        if counts:
            calls = counts.get("model_calls", 0) - calls_before
            self.model_calls += calls
        else:
            calls = 0
        if sink is not None:
            sink(ev.NodeFinished(self.run_id, node_id, spec.name, time.perf_counter() - t0,
                                 calls))

    def _injected(self, node_id: str, op: str) -> dict[str, Any]:
        """The keyword arguments the executor injects: the node's `OpContext`."""
        return {"ctx": OpContext(node=node_id, op=op, settings=self.plan.settings,
                                 folders=self.folders, plan=self.plan,
                                 interrupt=self.interrupt, on_progress=self._progress(node_id),
                                 on_warning=lambda message: self.emit(ev.NodeWarning(
                                     self.run_id, node_id, op, message)))}

    def _progress(self, node_id: str) -> Callable[[int, int, Any], None] | None:
        """The progress hook of a node's context: events for a sink, else none."""
        sink, run_id = self.sink, self.run_id
        if sink is None:
            return None

        def progress(i: int, total: int, preview: Any = None) -> None:
            sink(ev.Progress(run_id, node_id, i, total, preview))

        return progress


def _check_unmutated(op: str, ports: Any, values: list[Any], before: list[str]) -> None:
    names = [p.name for p in ports]
    for i, (value, digest) in enumerate(zip(values, before, strict=True)):
        if content_digest(value) != digest:
            port = names[i] if i < len(names) else names[-1]
            raise RuntimeError(f"strict mode: {op} mutated its input {port!r}")


def _todo_and_cached(statuses: dict[str, Status]) -> tuple[list[str], list[str]]:
    """The nodes to execute and those taken from the cache, in order (a first run and an
    identical rerun, where every node has the same status, without a walk)."""
    kinds = set(statuses.values())
    if len(kinds) == 1:
        only = list(statuses)
        return (only, []) if "execute" in kinds else ([], only) if "cached" in kinds else ([], [])
    return ([n for n, s in statuses.items() if s == "execute"],
            [n for n, s in statuses.items() if s == "cached"])


def _sum_or_none(values: Any) -> int | None:
    total = 0
    for v in values:
        if v is None:
            return None
        total += v
    return total
