"""`RayExecutor`: graphrt on a Ray cluster, one worker actor per GPU (SPEC §13).

    from graphrt import Runtime
    from graphrt.distributed import RayExecutor
    rt = Runtime(executor=RayExecutor(), cache_dir="/shared/graphrt-cache")
    rt.run("graph.json")            # prepared here, run on the workers

Without an address it starts a local cluster (`ray.init`); with one ("auto", "host:6379",
"ray://host:10001") it joins that cluster. It makes `workers` actors (default: one per GPU
of the cluster, one when there is none), each holding its own memory store and models in
front of the shared disk tier (the runtime's cache folder, which every worker must reach;
content-addressed and safe under concurrent writers: graphrt.core.store.disk). Each prompt
runs as graphrt.distributed.prompt describes; the router (`"cache-aware"`, or the baseline
`"round-robin"`) picks each part's worker. `"independent"` runs whole prompts in turn on
workers with private caches, as separate servers would. Workers compute with as many CPU
threads as this process (`threads`), so CPU results match a local run's bit for bit.
Tensors travel between workers zero-copy when the cluster's processes have
RAY_ENABLE_ZERO_COPY_TORCH_TENSORS=1 (set here for a local cluster this executor starts;
`ray start` a cluster with it). Ray is imported on first use only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrt.core import events as ev
from graphrt.core.execute import RunResult
from graphrt.core.plan import KeyLookup, Plan, decide

from .index import ClusterIndex
from .lane import Lane
from .parts import RESIDENT_KINDS, cut, layout
from .prompt import ClusterError, PromptRun
from .router import ROUTERS, CacheAwareRouter, Router
from .wire import unpack
from .worker import PartResult, WorkerOptions

if TYPE_CHECKING:
    from graphrt.core.runtime import Runtime

# tensors between workers as read-only views of the object store: ops never mutate inputs
ZERO_COPY = {"RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1"}
JOIN_TIMEOUT_S = 120.0
MAX_FAILED_JOINS = 3  # replacements in a row that never joined, before none is started


def compute_threads() -> int:
    """The CPU threads a local run computes with (Ray gives actors one): the same count in
    every worker keeps CPU results bit-identical to a local run's (reductions split alike)."""
    torch = sys.modules.get("torch")
    count = torch.get_num_threads() if torch is not None else os.cpu_count()
    return int(count or 1)


class RayExecutor:
    """Runs a Runtime's plans on Ray workers (see the module docstring)."""

    def __init__(self, address: str | None = None, *, workers: int | None = None,
                 router: str = "cache-aware", init: dict[str, Any] | None = None,
                 timeout_s: float = 30.0, kinds: frozenset[str] = RESIDENT_KINDS,
                 threads: int | None = None) -> None:
        if router not in (*ROUTERS, "independent"):
            raise ValueError(f"unknown router {router!r}: {', '.join(ROUTERS)}, independent")
        self.address = None if address in (None, "", "local") else address
        self.size, self.init, self.timeout_s, self.kinds = workers, init or {}, timeout_s, kinds
        self.threads = threads
        self.independent = router == "independent"
        self.router: Router = ROUTERS["round-robin" if self.independent else router]()
        self.options = WorkerOptions()
        self.index = ClusterIndex()
        self.routing = threading.Lock()  # one routing decision at a time
        self.lanes: dict[str, Lane] = {}
        self.counts: dict[str, Counter[str]] = {}
        self.loads: dict[str, Counter[str]] = {}
        self.losses = 0
        self._names = (f"w{i}" for i in itertools.count())
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._started = self._owns_ray = self._closing = False
        self._failed_joins = 0
        self._gpus = 0.0

    # --- the Runtime's hooks (graphrt.core.runtime.Executor) ------------------------------

    def bind(self, runtime: Runtime) -> None:
        store = runtime.store
        disk = store.disk
        folders = runtime.folders
        self.options = WorkerOptions(
            cache_dir=str(disk.root) if disk is not None else None,
            memory_budget=store.memory.max_bytes,
            disk_budget=disk.max_bytes if disk is not None else None,
            models=str(folders.models), input=str(folders.input), output=str(folders.output),
            strict=runtime.strict)
        self.index = ClusterIndex(None if self.independent else disk)

    def run(self, plan: Plan, sink: ev.Sink | None, cancel: threading.Event) -> RunResult:
        self.start()
        return PromptRun(self, plan, sink, cancel).run()

    def lookup(self) -> KeyLookup:
        return self.index

    def routes(self, plan: Plan) -> list[dict[str, Any]]:
        """Per part of what `plan` would run now: its nodes and the worker the cache-aware
        score picks (nothing is promised: a preview)."""
        lay = layout(plan, self.kinds)
        todo = {n for n, s in decide(plan, self.index).items() if s == "execute"}
        names = [n for n, lane in list(self.lanes.items())
                 if lane.joined.is_set() and lane.alive]
        preview = PromptRun(self, plan, None, threading.Event())
        out: list[dict[str, Any]] = []
        for i, part in enumerate(cut(plan, lay, todo)):
            row: dict[str, Any] = {"part": i, "model": part.model, "nodes": list(part.nodes)}
            if names:
                route = CacheAwareRouter().choose(preview.demand(part.model, list(part.nodes)),
                                                  self.index.view(names))
                row.update(worker=route.worker, reason=route.reason)
            out.append(row)
        return out

    @property
    def capacity(self) -> int:
        """Prompts worth running at once (a server runs this many): one per worker; one
        until the cluster has started and the count is known."""
        return self.size or 1

    # --- the cluster ----------------------------------------------------------------------

    def start(self) -> None:
        """Join or start the cluster and make the workers (once)."""
        with self._lock:
            if self._started:
                return
            import ray

            if not ray.is_initialized():
                for var, value in ZERO_COPY.items():  # the workers of a local cluster inherit it
                    os.environ.setdefault(var, value)
                ray.init(address=self.address, **self.init)
                self._owns_ray = True
            self._gpus = float(ray.cluster_resources().get("GPU", 0))  # type: ignore[no-untyped-call]
            count = self.size or max(1, int(self._gpus))
            self.size = count
            self._started = True
            for _ in range(count):
                self._spawn()
            lanes = list(self.lanes.values())
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for lane in lanes:  # the first routes see every worker
            lane.joined.wait(max(0.0, deadline - time.monotonic()))

    def _spawn(self) -> None:
        """A new worker actor and its lane (the caller holds `_lock`)."""
        import ray

        from .actor import RayWorker

        name = next(self._names)
        options = replace(self.options, threads=self.threads or compute_threads())
        if self.independent and options.cache_dir is not None:
            options = replace(options, cache_dir=str(Path(options.cache_dir) / name))
        gpus = min(1.0, self._gpus / (self.size or 1)) if self._gpus else 0
        actor = ray.remote(RayWorker).options(num_gpus=gpus, num_cpus=0, max_concurrency=8
                                              ).remote(name, options)
        lane = Lane(name, actor, self._lost, timeout_s=self.timeout_s,
                    join_timeout_s=JOIN_TIMEOUT_S)
        self.lanes[name] = lane
        self.index.add(name)
        self.counts[name], self.loads[name] = Counter(), Counter()
        lane.start()
        threading.Thread(target=self._announce, args=(lane,), daemon=True).start()

    def _announce(self, lane: Lane) -> None:
        lane.joined.wait(JOIN_TIMEOUT_S)
        with self._changed:
            self._changed.notify_all()

    def _lost(self, name: str, detail: str) -> None:
        """A lane lost its worker: forget what it held, and start a replacement."""
        import ray

        with self._changed:
            lane = self.lanes.pop(name, None)
            self.index.drop(name)
            if lane is None:
                return
            self.losses += 1
            self._failed_joins = 0 if lane.joined.is_set() else self._failed_joins + 1
            with contextlib.suppress(Exception):  # already gone
                ray.kill(lane.actor)
            if not self._closing and self._failed_joins < MAX_FAILED_JOINS:
                self._spawn()  # a replacement (workers that cannot start are not retried)
            self._changed.notify_all()

    def check(self, names: list[str]) -> None:
        """Ping workers; those that do not answer are lost (found while idle)."""
        import ray

        for name in names:
            lane = self.lanes.get(name)
            if lane is None:
                continue
            try:
                ray.get(lane.actor.hello.remote(), timeout=min(self.timeout_s, 10.0))
            except Exception as exc:
                lane.alive = False
                self._lost(name, f"{type(exc).__name__}: {exc}")

    def ready_lanes(self) -> list[str]:
        """Names of the workers that have joined; waits for one when there is none."""
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        with self._changed:
            while True:
                names = [n for n, lane in self.lanes.items()
                         if lane.alive and lane.joined.is_set()]
                if names:
                    return names
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ClusterError("no worker joined the cluster in time")
                self._changed.wait(min(left, 1.0))

    def warm(self, modules: tuple[str, ...] = ("graphrt.ops",)) -> None:
        """Have every worker import `modules` (the op library) before the first prompt."""
        import ray

        self.start()
        refs = [lane.actor.warm.remote(list(modules)) for lane in list(self.lanes.values())]
        ray.get(refs, timeout=JOIN_TIMEOUT_S)

    def lane(self, name: str) -> Lane:
        lane = self.lanes.get(name)
        if lane is None:
            from .lane import WorkerLost

            raise WorkerLost(name, "the worker is gone")
        return lane

    def put(self, value: Any) -> Any:
        import ray

        return ray.put(value)

    def record(self, worker: str, result: PartResult, loads: list[str], fetched: int) -> None:
        with self._lock:
            counts = self.counts.setdefault(worker, Counter())
            counts.update(parts=1, executed=len(result.executed),
                          model_calls=result.model_calls, fetched=fetched)
            self.loads.setdefault(worker, Counter()).update(loads)

    def fetch(self, keys: list[str]) -> dict[str, Any]:
        """Values of `keys` from wherever the cluster holds them (a worker, else the disk)."""
        import ray

        self.start()
        out: dict[str, Any] = {}
        for key in keys:
            for holder in [*self.index.holders(key), *list(self.lanes)]:  # then ask all
                lane = self.lanes.get(holder)
                if lane is None or not lane.alive:
                    continue
                got = ray.get(lane.actor.export_packed.remote([key]), timeout=self.timeout_s)
                if key in got:
                    out[key] = unpack(got[key])
                    break
        return out

    def stats(self) -> dict[str, Any]:
        """Per worker (dead ones included): parts, executed nodes, model calls, inputs
        fetched, models loaded (by loader key); workers lost; evictions reported."""
        with self._lock:
            workers = {name: {**dict(c), "loads": dict(self.loads.get(name, {}))}
                       for name, c in self.counts.items()}
            loads = sum(sum(c.values()) for c in self.loads.values())
            alive = sorted(n for n, lane in self.lanes.items() if lane.alive)
        return {"workers": workers, "model_loads": loads, "losses": self.losses,
                "evictions": self.index.evictions, "alive": alive}

    def actor(self, name: str) -> Any:
        """The actor handle of a worker (for operators and tests)."""
        return self.lane(name).actor

    def close(self) -> None:
        """Stop the workers (and the cluster, when this executor started it)."""
        import ray

        with self._lock:
            self._closing = True
            lanes, self.lanes = list(self.lanes.values()), {}
            started, self._started = self._started, False
        for lane in lanes:
            lane.stop()
            with contextlib.suppress(Exception):  # already gone
                ray.kill(lane.actor)
        for lane in lanes:
            lane.join(5.0)
        if started and self._owns_ray:
            ray.shutdown()
