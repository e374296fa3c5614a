"""The embeddable runtime: prepare and run graphs against a registry, with a cache.

    rt = Runtime(registry=my_ops, cache_dir="~/.cache/graphrt/cache")
    result = rt.run("graph.json", args={"seed": 7}, on_event=print)
    result.outputs["image"], result.executed, result.cached, result.stats

The core runtime takes its registry and document formats explicitly; `graphrt.Runtime`
(graphrt.library) is this class with graphrt's op library and formats as defaults.

Plans run in this process unless an `executor` is given (`Runtime(executor=...)`, such as
graphrt.distributed's RayExecutor): it then runs every plan, and plan reports ask it what
the cluster holds and where each part would go.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import events as ev
from .document import DocumentFormat
from .execute import Execution, RunResult
from .expand import Budget
from .graph import Graph
from .paths import Folders
from .pipeline import Check, Preparer, Source
from .plan import KeyLookup, Plan, Status, decide
from .registry import Registry
from .request import request_digest
from .settings import RunSettings
from .store import DiskStore, MemoryStore, TieredStore
from .store.memory import DEFAULT_BUDGET as MEMORY_BUDGET

PLANS_KEPT = 8  # plans of recent requests, for identical resubmissions


class Executor(Protocol):
    """Runs plans outside this process (see the module docstring)."""

    def bind(self, runtime: Runtime) -> None:
        """Take the runtime's folders, settings and cache options for its workers."""

    def run(self, plan: Plan, sink: ev.Sink | None, cancel: threading.Event) -> RunResult:
        """Run `plan` as `Execution.run` would; `cancel` is the run's interrupt flag."""

    def lookup(self) -> KeyLookup:
        """The keys held anywhere the executor can reach (for plan reports)."""

    def routes(self, plan: Plan) -> list[dict[str, Any]]:
        """Where each part of `plan` would run now, and why."""


@dataclass
class PlanReport:
    """What a run would do, before it runs: per node, execute / cached / skipped (and, with
    an executor, the route of each part)."""

    plan: Plan
    statuses: dict[str, Status]
    routes: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for n in self.plan.order:
            node = self.plan.node(n)
            calls = self.plan.model_calls(n) if self.statuses[n] == "execute" else 0
            out.append({"node": n, "op": node.spec.name, "key": self.plan.keys[n],
                        "status": self.statuses[n], "model_calls": calls,
                        "source": node.source, "origin": node.origin})
        return out

    @property
    def model_calls(self) -> int | None:
        total = 0
        for row in self.rows():
            if row["model_calls"] is None:
                return None
            total += row["model_calls"]
        return total

    def to_dict(self) -> dict[str, Any]:
        rows = self.rows()
        count = {s: sum(1 for r in rows if r["status"] == s)
                 for s in ("execute", "cached", "skipped")}
        out = {"nodes": rows, "outputs": {k: str(v) for k, v in self.plan.outputs.items()},
               "summary": {**count, "model_calls": self.model_calls},
               "settings": {"device": self.plan.settings.device,
                            "dtype": self.plan.settings.dtype}}
        if self.routes is not None:
            out["routes"] = self.routes
        return out


class Runtime:
    """Runs graphs against a registry of ops and a (memory, optionally disk) cache.

    `device` and `dtype` ("auto" for either) are the run settings that change numbers: they
    enter the keys of device-dependent ops (see graphrt.core.settings)."""

    def __init__(
        self,
        *,
        registry: Registry | Iterable[Any],
        formats: Sequence[DocumentFormat] = (),
        cache_dir: str | Path | None = None,
        memory_budget: int = MEMORY_BUDGET,
        disk_budget: int | None = None,
        device: str = "auto",
        dtype: str = "auto",
        models_dir: str | Path | None = None,
        input_dir: str | Path | None = None,
        output_dir: str | Path | None = None,
        strict: bool = False,
        executor: Executor | None = None,
    ) -> None:
        self.registry = registry if isinstance(registry, Registry) else Registry(registry)
        disk = None
        if cache_dir is not None:
            disk = DiskStore(cache_dir, *(() if disk_budget is None else (disk_budget,)))
        self.store = TieredStore(MemoryStore(memory_budget), disk)
        defaults = Folders()
        self.folders = Folders(
            models=Path(models_dir).expanduser() if models_dir else defaults.models,
            input=Path(input_dir).expanduser() if input_dir else defaults.input,
            output=Path(output_dir).expanduser() if output_dir else defaults.output,
        )
        self.settings = RunSettings.resolve(device, dtype)
        self.preparer = Preparer(self.registry, tuple(formats), self.folders, self.settings)
        self.strict = strict
        self._plans: OrderedDict[str, Plan] = OrderedDict()  # request digest → its plan
        self._plans_lock = threading.Lock()  # the server prepares and runs in two threads
        self._cancel = threading.Event()  # the current (or last) in-process run's interrupt flag
        self._own_cancel = self._cancel  # the flag of runs not given one
        self._running: set[threading.Event] = set()  # flags of executor runs going on
        self._running_lock = threading.Lock()
        self._lock = threading.Lock()
        self.executor = executor
        if executor is not None:
            executor.bind(self)

    def load(self, source: Source, *, args: Mapping[str, Any] | None = None,
             overrides: Mapping[str, Any] | None = None) -> Graph:
        """Load and check a document; raises InvalidGraph with every issue."""
        return self.preparer.load(source, args=args, overrides=overrides)

    def prepare(self, source: Source, *, args: Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None, outputs: list[str] | None = None,
                checks: Sequence[Check] = (), budget: Budget | None = None,
                cancel: threading.Event | None = None) -> Plan:
        """Load, check, expand, run `checks` on the expanded graph, prune, order and key.

        An identical request (same document bytes, args, overrides and outputs, no host
        checks) reuses the plan made for it, once the files its keys fingerprint are found
        unchanged: a resubmitted document costs a digest, not a replan; an edit of the last
        document is replanned only where it changed. `budget` bounds the
        expansion as it runs and `cancel` stops preparing (see graphrt.core.pipeline)."""
        hosted = bool(checks) or budget is not None
        digest = None if hosted else request_digest(source, args, overrides, outputs)
        if digest is not None:
            with self._plans_lock:
                plan = self._plans.get(digest)
            if plan is not None and plan.files_unchanged(self.folders):
                return plan
        with self._plans_lock:  # the last plan: this document may be an edit of it
            last = next(reversed(self._plans.values()), None) if digest is not None else None
        plan = self.preparer.prepare(source, args=args, overrides=overrides, outputs=outputs,
                                     checks=checks, budget=budget, cancel=cancel,
                                     previous=last)
        if digest is not None:
            with self._plans_lock:
                self._plans[digest] = plan
                while len(self._plans) > PLANS_KEPT:
                    self._plans.popitem(last=False)
        return plan

    def plan(self, source: Source | Plan, *, args: Mapping[str, Any] | None = None,
             overrides: Mapping[str, Any] | None = None,
             outputs: list[str] | None = None) -> PlanReport:
        """Tell per node whether a run would execute it, take it from the cache, or skip it."""
        plan = source if isinstance(source, Plan) else self.prepare(
            source, args=args, overrides=overrides, outputs=outputs)
        if self.executor is not None:
            return PlanReport(plan, decide(plan, self.executor.lookup()),
                              self.executor.routes(plan))
        return PlanReport(plan, decide(plan, self.store))

    def run(
        self,
        source: Source | Plan,
        *,
        args: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        outputs: list[str] | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> RunResult:
        """Run a graph (or a plan prepared earlier). Bad documents raise InvalidGraph before
        anything runs; op failures are reported in the result (`failed`, `blocked`).

        `cancel` is this run's interrupt flag (a fresh one when not given): setting it, or
        calling `interrupt()`, stops the run at its next progress tick or node boundary."""
        plan = source if isinstance(source, Plan) else self.prepare(
            source, args=args, overrides=overrides, outputs=outputs)
        if self.executor is not None:  # runs of several threads go on at once, on workers
            flag = cancel or threading.Event()
            with self._running_lock:
                self._running.add(flag)
            try:
                return self.executor.run(plan, on_event, flag)
            finally:
                with self._running_lock:
                    self._running.discard(flag)
        with self._lock, gc_frozen():
            if cancel is None:
                if self._own_cancel.is_set():  # else the unset flag of the last run serves
                    self._own_cancel = threading.Event()
                cancel = self._own_cancel
            self._cancel = cancel
            run = Execution(plan, self.store, self.folders, on_event, self._cancel,
                            strict=self.strict)
            return run.run()

    def interrupt(self) -> None:
        """Ask the current run (if any; with an executor, every run going on) to stop at its
        next progress tick or node boundary."""
        self._cancel.set()
        with self._running_lock:
            for flag in self._running:
                flag.set()


class gc_frozen:  # noqa: N801 - used as a function: `with gc_frozen():`
    """While a plan executes, exempt the objects that exist already (the plan, cached values)
    from collection scans; what the ops allocate is still collected as usual. (A class: a
    generator-based context manager costs several times more, at every run.)"""

    __slots__ = ()

    def __enter__(self) -> None:
        gc.freeze()

    def __exit__(self, *exc: object) -> None:
        gc.unfreeze()
