"""One prompt on the cluster: plan against the cluster index, cut, route, run, recover.

The head decides per node against everything the cluster holds (`ClusterIndex`), cuts the
nodes to run where the model changes (`parts.cut`) and sends each part, in order, to the
worker its router picks. Before a part leaves, it is closed over for that worker: an input
the worker holds is read there; a resident input (a model) it lacks is made there (the
loader joins the part); another input comes from the worker holding it (through Ray's
object store, counted as fetched), else from the shared disk, else it is computed in the
part. A worker lost mid-prompt (`WorkerLost`) costs only what it alone held: the prompt is
decided again against what is left and goes on from the cached prefix, so no node's result
is reported twice and the prompt ends once. Interrupts stop the running part on its worker.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from graphrt.core import events as ev
from graphrt.core.execute import RunResult
from graphrt.core.plan import Plan, decide

from .events import PartRouted, WorkerLost
from .lane import PartCall
from .lane import WorkerLost as Lost
from .parts import boundary, cut, layout
from .router import Demand
from .wire import unpack_all
from .worker import PartResult, PartTask

if TYPE_CHECKING:
    from .executor import RayExecutor

MAX_LOSSES = 3  # workers a prompt may lose before it fails
MAX_REPLANS = 5  # parts that found an input gone, before the prompt fails


class ClusterError(RuntimeError):
    """The cluster could not run the prompt (no worker, or too many lost)."""


class _Replan(Exception):
    pass


class PromptRun:
    """The head's side of one prompt (see the module docstring)."""

    def __init__(self, cluster: RayExecutor, plan: Plan, sink: ev.Sink | None,
                 cancel: Any) -> None:
        self.cluster, self.plan, self.sink, self.cancel = cluster, plan, sink, cancel
        self.run_id = uuid.uuid4().hex
        self.layout = layout(plan, cluster.kinds)
        self.executed: list[str] = []
        self.failed: dict[str, dict[str, str]] = {}
        self.blocked: dict[str, str] = {}
        self.outputs: dict[str, Any] = {}
        self.model_calls = self.loads = self.fetched = self.losses = 0
        self.routes: list[dict[str, Any]] = []
        self.interrupted = False
        self.found: set[str] = set()  # nodes a worker found in its cache when the part ran
        self._reported: set[str] = set()

    def emit(self, event: ev.Event) -> None:
        if self.sink is not None:
            self.sink(event)

    def work(self, node: str) -> float:
        calls = self.plan.model_calls(node)
        return float(calls or 0) + 1.0

    def run(self) -> RunResult:
        start = time.perf_counter()
        plan = self.plan
        statuses = decide(plan, self.cluster.index)
        todo = [n for n, s in statuses.items() if s == "execute"]
        cached = [n for n, s in statuses.items() if s == "cached"]
        calls = [plan.model_calls(n) for n in todo]
        predicted = None if None in calls else sum(c or 0 for c in calls)
        self.emit(ev.RunStarted(self.run_id, len(plan.order), todo, cached, predicted))
        for n in cached:
            self._reported.add(n)
            self.emit(ev.NodeCached(self.run_id, n, plan.node(n).spec.name, plan.keys[n]))
        plan_ref = self.cluster.put(plan)
        replans = 0
        while True:
            try:
                if self.cluster.independent:
                    self._run_whole(plan_ref)
                else:
                    self._run_parts(plan_ref)
                break
            except Lost as lost:
                self.losses += 1
                self.emit(WorkerLost(self.run_id, lost.worker, lost.detail))
                if self.losses > MAX_LOSSES:
                    raise ClusterError(f"lost {self.losses} workers running one prompt") from lost
            except _Replan as exc:
                replans += 1
                if replans > MAX_REPLANS:
                    raise ClusterError("inputs kept disappearing from the cluster") from exc
        wall = time.perf_counter() - start
        done = set(self.executed)
        cached_now = [n for n in plan.order if n not in done and (
            n in self.found or statuses[n] == "cached")]
        self.emit(ev.RunFinished(self.run_id, list(self.executed), cached_now,
                                 list(self.failed), self.model_calls, wall, self.interrupted))
        stats = {"nodes": len(plan.order), "executed": len(self.executed),
                 "cached": len(cached_now), "failed": len(self.failed),
                 "model_calls": self.model_calls, "predicted_model_calls": predicted,
                 "wall_time": wall, "model_loads": self.loads, "fetched": self.fetched,
                 "worker_losses": self.losses, "parts": self.routes}
        return RunResult(self.run_id, {} if self.interrupted else self.outputs,
                         list(self.executed), cached_now, self.failed, self.blocked,
                         self.interrupted, stats, statuses, plan.dropped_outputs)

    # --- shared cluster: parts -------------------------------------------------------------

    def _run_parts(self, plan_ref: Any) -> None:
        plan = self.plan
        statuses = decide(plan, self.cluster.index)
        todo = {n for n, s in statuses.items()
                if s == "execute" and n not in self.failed and n not in self.blocked}
        for part in cut(plan, self.layout, todo):
            nodes = [n for n in part.nodes if not self._blocked(n)]
            if nodes and not self._dispatch(plan_ref, part.model, nodes, todo):
                return
        wanted = [name for name, ref in plan.outputs.items() if name not in self.outputs
                  and ref.node not in self.failed and ref.node not in self.blocked]
        if wanted:  # outputs that were cached: collected from where they are
            self._dispatch(plan_ref, None, [], todo, collect=wanted)

    def _blocked(self, node: str) -> bool:
        for u in self.plan.upstreams[node]:
            root = u if u in self.failed else self.blocked.get(u)
            if root is not None:
                self.blocked[node] = root
                self.emit(ev.NodeSkipped(self.run_id, node, self.plan.node(node).spec.name,
                                         root))
                return True
        return False

    def demand(self, model: str | None, nodes: list[str]) -> Demand:
        plan, lay = self.plan, self.layout
        ins = boundary(plan, nodes)
        loaders = lay.roots.get(model, ()) if model is not None else ()
        return Demand(tuple((plan.keys[n], self.work(n)) for n in nodes),
                      tuple(plan.keys[n] for n in ins if n not in lay.resident),
                      tuple(plan.keys[n] for n in loaders))

    def _close(self, target: str, nodes: list[str], extra: list[str]
               ) -> tuple[list[str], list[str], dict[str, list[str]]]:
        """The part as `target` runs it: its nodes, its inputs, and what it fetches from
        whom (see the module docstring)."""
        plan, index, lay = self.plan, self.cluster.index, self.layout
        members, inputs = set(nodes), []
        fetch: dict[str, list[str]] = {}
        stack = [*boundary(plan, nodes), *extra]
        seen: set[str] = set()
        while stack:
            u = stack.pop()
            if u in members or u in seen:
                continue
            seen.add(u)
            key = plan.keys[u]
            holders = [h for h in index.holders(key) if h != target]
            if index.holds(target, key):
                inputs.append(u)
            elif u not in lay.resident and holders:
                fetch.setdefault(holders[0], []).append(key)
                inputs.append(u)
            elif u not in lay.resident and index.on_disk(key):
                inputs.append(u)
            else:  # a model it lacks, or a value held nowhere: made in this part
                members.add(u)
                stack.extend(plan.upstreams[u])
        order = [n for n in plan.order if n in members]
        inputs = [n for n in plan.order if n in set(inputs)]
        return order, inputs, fetch

    def _dispatch(self, plan_ref: Any, model: str | None, nodes: list[str], todo: set[str],
                  collect: list[str] | None = None) -> bool:
        """Route, close over and run one part; False when the prompt was interrupted."""
        plan, cluster, lay = self.plan, self.cluster, self.layout
        extra = [plan.outputs[name].node for name in collect or ()]
        demand = self.demand(model, nodes)
        if collect:
            demand = replace(demand, inputs=tuple(plan.keys[n] for n in extra))
        with cluster.routing:  # routed, promised and queued in one step: lanes keep order
            route = cluster.router.choose(demand, cluster.index.view(cluster.ready_lanes()))
            target = route.worker
            members, inputs, fetch = self._close(target, nodes, extra)
            keys = [plan.keys[n] for n in members]
            loaders = [plan.keys[n] for n in (*members, *inputs) if n in lay.loaders]
            work = sum(self.work(n) for n in members)
            cluster.index.promise(target, keys, demand.models, work)
            try:
                task = self._task(members, inputs, todo, collect)
                fetched = {k: h for h, ks in fetch.items() for k in ks}
                refs = [cluster.lane(h).actor.export.remote(ks) for h, ks in fetch.items()]
                self.routes.append({"part": len(self.routes), "worker": target,
                                    "nodes": members, "fetched": len(fetched),
                                    "reason": route.reason})
                self.emit(PartRouted(self.run_id, len(self.routes) - 1, target, members,
                                     fetched, route.reason))  # before the part's own events
                future = cluster.lane(target).submit(
                    PartCall(task, plan_ref, refs, self._forward(set(members)), self.cancel))
            except BaseException:
                cluster.index.settle(target, keys, demand.models, work)
                raise
        try:
            result = self._wait(future, target)
        except BaseException:  # a lost worker is dropped from the index, others settle
            cluster.index.settle(target, keys, demand.models, work)
            raise
        # an input the worker turned out not to have is no longer counted as its
        gone = [*result.evicted, *(plan.keys[n] for n in result.missing)]
        cluster.index.settle(target, keys, demand.models, work, result.held, gone, loaders)
        if result.missing:
            cluster.check(list(fetch))  # a holder that died idle is found here
            raise _Replan(result.missing)
        self._record(target, result, fetched, set(members))
        return not result.interrupted

    def _task(self, members: list[str], inputs: list[str], todo: set[str],
              collect: list[str] | None) -> PartTask:
        """The part as its worker gets it: what to keep for later parts (`exports`: read by
        nodes still to run elsewhere, or wanted as outputs) and which outputs to return."""
        plan, inside = self.plan, set(members)
        wanted = {ref.node for ref in plan.outputs.values()}
        exports = tuple(n for n in members if n in wanted or any(
            c in todo and c not in inside for c in plan.consumers[n]) or (
            not plan.outputs and not plan.consumers[n]))
        names = tuple(name for name, ref in plan.outputs.items()
                      if ref.node in inside or name in (collect or ()))
        return PartTask(uuid.uuid4().hex, tuple(members), tuple(inputs), exports, names)

    def _wait(self, future: Future[PartResult], target: str) -> PartResult:
        lane = self.cluster.lane(target)
        while True:
            try:
                return future.result(timeout=0.5)
            except FutureTimeout:
                if not lane.alive and not future.done():
                    raise Lost(target, "the worker is gone") from None

    def _record(self, worker: str, result: PartResult, fetched: dict[str, str],
                members: set[str]) -> None:
        self.executed += result.executed
        self.found.update(n for n in result.cached if n in members)
        self.failed.update(result.failed)
        self.blocked.update(result.blocked)
        self.outputs.update(unpack_all(result.outputs))
        self.model_calls += result.model_calls
        loads = [n for n in result.executed if n in self.layout.loaders]
        self.loads += len(loads)
        self.fetched += len(fetched)
        self.interrupted = self.interrupted or result.interrupted
        self.cluster.record(worker, result, [self.plan.keys[n] for n in loads], len(fetched))

    def _forward(self, members: set[str]) -> ev.Sink:
        """A worker's events as this prompt's: its own run start and end are the head's;
        the inputs it found cached are not news."""
        def sink(event: ev.Event) -> None:
            if isinstance(event, ev.RunStarted | ev.RunFinished):
                return
            if isinstance(event, ev.NodeCached):
                if event.node not in members or event.node in self._reported:
                    return
                self._reported.add(event.node)
            self.emit(replace(event, run_id=self.run_id))

        return sink

    # --- independent servers: whole prompts, private caches -------------------------------

    def _run_whole(self, plan_ref: Any) -> None:
        cluster = self.cluster
        with cluster.routing:
            lanes = cluster.ready_lanes()
            route = cluster.router.choose(Demand(()), cluster.index.view(lanes))
        task = PartTask(uuid.uuid4().hex, (), outputs=tuple(self.plan.outputs), whole=True)
        self.routes.append({"part": 0, "worker": route.worker, "nodes": list(self.plan.order),
                            "fetched": 0, "reason": route.reason})
        self.emit(PartRouted(self.run_id, 0, route.worker, list(self.plan.order), {},
                             route.reason))
        future = cluster.lane(route.worker).submit(
            PartCall(task, plan_ref, [], self._forward(set(self.plan.order)), self.cancel))
        self._record(route.worker, self._wait(future, route.worker), {}, set(self.plan.order))
