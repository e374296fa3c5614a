"""The worker: what runs inside each Ray actor (one per GPU), written without Ray.

A worker holds its own tiered store (memory, in front of the shared disk tier) and runs the
parts the head sends it, one at a time: it takes the values other workers sent for the part
into memory, pins the part's inputs (a value evicted mid-part cannot be lost), runs the
part's plan with the core's `Execution`, and answers what it executed, the outputs the head
asked for, and which keys it now holds and which it evicted. Events are buffered per part
and drained by the head (`next_events`), so progress streams while the part runs; an
interrupt reaches the part through `interrupt`. `export` hands held values to other workers
(through Ray's object store; ops never mutate inputs, so the values are shared as they are).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from graphrt.core import events as ev
from graphrt.core.errors import CorruptEntry
from graphrt.core.execute import Execution
from graphrt.core.paths import Folders
from graphrt.core.plan import Plan
from graphrt.core.settings import RunSettings
from graphrt.core.store import MISSING, DiskStore, MemoryStore, TieredStore, Watcher

from .parts import first_port, part_plan


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker builds its store and folders (taken from the head's Runtime)."""

    cache_dir: str | None = None  # the shared disk tier (None: memory only)
    memory_budget: int = 4 * 1024**3
    disk_budget: int | None = None
    models: str | None = None
    input: str | None = None
    output: str | None = None
    strict: bool = False
    threads: int | None = None  # CPU threads of ops (a local run's count: equal results)


@dataclass(frozen=True)
class PartTask:
    """One part: `nodes` to compute, `inputs` read from the store, `exports` (nodes whose
    results later parts read), `outputs` (graph output names whose values return). With
    `whole`, the worker runs the whole plan against its own store (independent servers)."""

    token: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    whole: bool = False


@dataclass
class PartResult:
    token: str
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, str]] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    model_calls: int = 0
    missing: list[str] = field(default_factory=list)  # inputs it did not have: nothing ran
    held: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)


class PinnedStore:
    """A store with some values pinned in front of it (the inputs of the running part)."""

    def __init__(self, store: TieredStore, pinned: dict[str, Any]) -> None:
        self.store, self.pinned = store, pinned

    def get(self, key: str) -> Any:
        value = self.pinned.get(key, MISSING)
        return self.store.get(key) if value is MISSING else value

    def put(self, key: str, value: Any) -> None:
        self.store.put(key, value)

    def __contains__(self, key: object) -> bool:
        return key in self.pinned or key in self.store

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    def clear(self) -> None:
        self.store.clear()

    def watch(self, callback: Watcher | None) -> None:
        self.store.watch(callback)


class _Buffer:
    def __init__(self) -> None:
        self.events: list[ev.Event] = []
        self.done = False


class PartWorker:
    """The state of one worker actor (see the module docstring)."""

    def __init__(self, name: str, options: WorkerOptions) -> None:
        self.name, self.options = name, options
        self.incarnation = uuid.uuid4().hex
        self._evicted: deque[str] = deque()
        memory = MemoryStore(options.memory_budget, on_evict=self._evicted.append)
        disk = None
        if options.cache_dir is not None:
            disk = DiskStore(options.cache_dir, *(() if options.disk_budget is None
                                                  else (options.disk_budget,)))
        self.store = TieredStore(memory, disk)
        defaults = Folders()
        self.folders = Folders(
            models=Path(options.models) if options.models else defaults.models,
            input=Path(options.input) if options.input else defaults.input,
            output=Path(options.output) if options.output else defaults.output)
        self._run_lock = threading.Lock()
        self._cond = threading.Condition()
        self._buffers: dict[str, _Buffer] = {}
        self._cancels: dict[str, threading.Event] = {}

    def hello(self) -> dict[str, Any]:
        gpus: list[Any] = []
        try:
            import ray

            gpus = list(ray.get_gpu_ids())
        except Exception:  # outside Ray (tests of the worker itself)
            gpus = []
        return {"name": self.name, "incarnation": self.incarnation, "pid": os.getpid(),
                "gpus": gpus}

    def warm(self, modules: list[str]) -> list[str]:
        """Import `modules` (an op library) now, not at the first part."""
        import importlib

        return [importlib.import_module(m).__name__ for m in modules]

    def run_part(self, plan: Plan, task: PartTask, *fetched: dict[str, Any]) -> PartResult:
        with self._run_lock:
            try:
                return self._run(plan, task, fetched)
            finally:
                with self._cond:
                    self._buffer(task.token).done = True
                    self._cancels.pop(task.token, None)
                    self._cond.notify_all()

    def _run(self, plan: Plan, task: PartTask, fetched: tuple[dict[str, Any], ...]
             ) -> PartResult:
        with self._cond:
            cancel = self._cancels.setdefault(task.token, threading.Event())
        for values in fetched:
            for key, value in values.items():
                self.store.memory.put(key, value)
        pinned: dict[str, Any] = {}
        missing = []
        for node in task.inputs:
            value = self._value(plan.keys[node])
            if value is MISSING:
                missing.append(node)
            else:
                pinned[plan.keys[node]] = value
        if missing:
            return PartResult(task.token, missing=missing, held=self._held(plan, task),
                              evicted=self._drain())
        if task.whole:
            sub = plan
        else:
            outputs = {name: plan.outputs[name] for name in task.outputs}
            outputs.update({f"\0{n}": first_port(plan, n) for n in task.exports})
            sub = part_plan(plan, task.nodes, task.inputs, outputs)
        # devices of one kind compute alike (RunSettings.key): this worker's own GPU
        sub = replace(sub, settings=RunSettings(plan.settings.device.split(":")[0],
                                                plan.settings.dtype))
        run = Execution(sub, PinnedStore(self.store, pinned), self.folders,
                        lambda e: self._emit(task.token, e), cancel, strict=self.options.strict)
        result = run.run()
        return PartResult(task.token, result.executed, result.cached, result.failed,
                          result.blocked, result.interrupted,
                          {k: v for k, v in result.outputs.items() if k in task.outputs},
                          int(result.stats["model_calls"]), [], self._held(plan, task),
                          self._drain())

    def _value(self, key: str) -> Any:
        try:
            return self.store.get(key)
        except CorruptEntry:
            return MISSING

    def _held(self, plan: Plan, task: PartTask) -> list[str]:
        nodes = plan.order if task.whole else (*task.nodes, *task.inputs)
        return [plan.keys[n] for n in nodes if plan.keys[n] in self.store.memory]

    def _drain(self) -> list[str]:
        out = []
        while self._evicted:
            out.append(self._evicted.popleft())
        return out

    def _buffer(self, token: str) -> _Buffer:
        return self._buffers.setdefault(token, _Buffer())

    def _emit(self, token: str, event: ev.Event) -> None:
        if isinstance(event, ev.Progress) and event.preview is not None:
            event = replace(event, preview=None)  # previews stay on the worker
        with self._cond:
            self._buffer(token).events.append(event)
            self._cond.notify_all()

    def next_events(self, token: str, wait_s: float) -> tuple[list[ev.Event], bool]:
        """The part's events since the last call (waiting up to `wait_s` for one), and
        whether the part is over and every event handed out."""
        with self._cond:
            buf = self._buffer(token)
            self._cond.wait_for(lambda: bool(buf.events) or buf.done, timeout=wait_s)
            events, buf.events = buf.events, []
            finished = buf.done
            if finished:
                self._buffers.pop(token, None)
            return events, finished

    def interrupt(self, token: str) -> bool:
        with self._cond:
            cancel = self._cancels.setdefault(token, threading.Event())
        cancel.set()
        return True

    def export(self, keys: list[str]) -> dict[str, Any]:
        """The values this worker holds (memory or disk) for `keys`; absent ones left out."""
        out = {}
        for key in keys:
            value = self._value(key)
            if value is not MISSING:
                out[key] = value
        return out
