"""The embeddable runtime: load, validate, expand, plan and run graphs, with a cache.

    rt = Runtime(cache_dir="~/.cache/graphrt/cache")
    result = rt.run("graphs/txt2img.json", args={"seed": 7}, on_event=print)
    result.outputs["image"], result.executed, result.cached, result.stats
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import events as ev
from .execute import Execution, RunResult, Settings
from .expand import expand
from .graph import GraphDoc, load_graph
from .paths import Folders
from .plan import Plan, Status, decide, make_plan
from .registry import Registry, default_registry
from .store import DiskStore, MemoryStore, TieredStore
from .store.memory import DEFAULT_BUDGET as MEMORY_BUDGET
from .validate import Graph, validate

GraphSource = str | Path | dict[str, Any] | GraphDoc


@dataclass
class PlanReport:
    """What a run would do, before it runs: per node, execute / cached / skipped."""

    plan: Plan
    statuses: dict[str, Status]

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for n in self.plan.order:
            node = self.plan.node(n)
            calls = self.plan.model_calls(n) if self.statuses[n] == "execute" else 0
            out.append({"node": n, "op": node.spec.name, "key": self.plan.keys[n],
                        "status": self.statuses[n], "model_calls": calls,
                        "origin": node.origin})
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
        return {"nodes": rows, "outputs": {k: str(v) for k, v in self.plan.outputs.items()},
                "summary": {**count, "model_calls": self.model_calls}}


class Runtime:
    """Runs graphs against a registry of ops and a (memory, optionally disk) cache."""

    def __init__(
        self,
        *,
        registry: Registry | Iterable[Any] | None = None,
        cache_dir: str | Path | None = None,
        memory_budget: int = MEMORY_BUDGET,
        disk_budget: int | None = None,
        device: str = "auto",
        models_dir: str | Path | None = None,
        input_dir: str | Path | None = None,
        output_dir: str | Path | None = None,
        strict: bool = False,
    ) -> None:
        if registry is None:
            registry = default_registry()
        elif not isinstance(registry, Registry):
            registry = Registry(registry)
        self.registry = registry
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
        self.settings = Settings(device=device, folders=self.folders, strict=strict)
        self._cancel = threading.Event()  # the current (or last) run's interrupt flag
        self._lock = threading.Lock()

    def load(
        self,
        source: GraphSource,
        *,
        args: dict[str, Any] | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> Graph:
        """Load and validate a document; raises InvalidGraph with every issue."""
        doc = source if isinstance(source, GraphDoc) else load_graph(source)
        return validate(doc, self.registry, args=args, overrides=overrides)

    def plan(
        self,
        source: GraphSource,
        *,
        args: dict[str, Any] | None = None,
        overrides: dict[str, Any] | None = None,
        outputs: list[str] | None = None,
    ) -> PlanReport:
        """Expand, prune, order and key; tell per node whether it would run or hit."""
        plan = self._plan(source, args, overrides, outputs)
        return PlanReport(plan, decide(plan, self.store))

    def run(
        self,
        source: GraphSource,
        *,
        args: dict[str, Any] | None = None,
        overrides: dict[str, Any] | None = None,
        outputs: list[str] | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> RunResult:
        """Run a graph. Bad documents raise InvalidGraph before anything runs; op failures
        are reported in the result (`failed`, `blocked`), never raised.

        `cancel` is this run's interrupt flag (a fresh one when not given): setting it, or
        calling `interrupt()`, stops the run at its next progress tick or node boundary."""
        plan = self._plan(source, args, overrides, outputs)
        with self._lock, gc_frozen():
            self._cancel = cancel or threading.Event()
            document = {"graph": plan.graph.doc.dump(), "args": plan.graph.args,
                        "overrides": overrides or {}}
            run = Execution(plan, self.store, self.settings, on_event or _ignore,
                            self._cancel, document)
            return run.run()

    def interrupt(self) -> None:
        """Ask the current run (if any) to stop at its next progress tick or node boundary."""
        self._cancel.set()

    def _plan(self, source: GraphSource, args: dict[str, Any] | None,
              overrides: dict[str, Any] | None, outputs: list[str] | None) -> Plan:
        with gc_paused():
            graph = expand(self.load(source, args=args, overrides=overrides), self.registry)
            return make_plan(graph, outputs=outputs, folders=self.folders)


def _ignore(_event: ev.Event) -> None:
    pass


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while planning: the plan's many small, acyclic objects
    would otherwise make each full collection rescan them (quadratic on 10k-node graphs)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def gc_frozen() -> Iterator[None]:
    """While a plan executes, exempt the objects that exist already (the plan, cached values)
    from collection scans; what the ops allocate is still collected as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
