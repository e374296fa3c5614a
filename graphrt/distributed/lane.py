"""A lane: one worker actor and the parts routed to it, sent one at a time in routing order.

The lane's thread first waits for the actor to answer (`hello`: it has joined), then sends
each part (`run_part`) and drains its events while it runs (`next_events`, a long poll),
handing them to the part's sink in order; a part whose prompt is interrupted is told so
(`interrupt`), or never sent when still queued. Every Ray call is bounded: an actor that
dies, or does not answer within `timeout_s`, is lost — the running part and every queued
one fail with `WorkerLost`, and the executor is told (`on_lost`) so it can replace it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from graphrt.core import events as ev

from .worker import PartResult, PartTask

POLL_S = 0.2  # how long one next_events call waits for an event


class WorkerLost(Exception):
    def __init__(self, worker: str, detail: str) -> None:
        super().__init__(f"worker {worker} lost: {detail}")
        self.worker, self.detail = worker, detail


@dataclass
class PartCall:
    """A part on its way to a worker: the task, the plan (an object reference), the
    references of the values other workers export for it, where its events go."""

    task: PartTask
    plan_ref: Any
    fetch_refs: list[Any]
    sink: Callable[[ev.Event], None]
    cancel: threading.Event
    future: Future[PartResult] = field(default_factory=Future)


class Lane:
    """One worker and its queue of parts (see the module docstring)."""

    def __init__(self, name: str, actor: Any, on_lost: Callable[[str, str], None], *,
                 timeout_s: float = 30.0, join_timeout_s: float = 120.0) -> None:
        self.name, self.actor, self.on_lost = name, actor, on_lost
        self.timeout_s, self.join_timeout_s = timeout_s, join_timeout_s
        self.joined = threading.Event()
        self.alive = True
        self.info: dict[str, Any] = {}
        self._queue: queue.Queue[PartCall | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=f"graphrt-lane-{name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.alive = False
        self._queue.put(None)

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def submit(self, call: PartCall) -> Future[PartResult]:
        if not self.alive:
            call.future.set_exception(WorkerLost(self.name, "the worker is gone"))
        else:
            self._queue.put(call)
        return call.future

    def _loop(self) -> None:
        import ray

        try:
            self.info = ray.get(self.actor.hello.remote(), timeout=self.join_timeout_s)
        except Exception as exc:
            self._lose(f"did not join: {type(exc).__name__}: {exc}")
            return
        self.joined.set()
        while self.alive:
            call = self._queue.get()
            if call is None:
                break
            if call.cancel.is_set():  # interrupted while queued: never sent
                call.future.set_result(PartResult(call.task.token, interrupted=True))
                continue
            try:
                call.future.set_result(self._send(ray, call))
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                call.future.set_exception(WorkerLost(self.name, f"{type(exc).__name__}"))
                self._lose(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # the part raised inside the worker: a bug, not a loss
                call.future.set_exception(exc)
        self._fail_queued("the worker is gone")

    def _send(self, ray: Any, call: PartCall) -> PartResult:
        token, actor = call.task.token, self.actor
        ref = actor.run_part.remote(call.plan_ref, call.task, call.fetch_refs)
        told = False
        while True:
            events, finished = ray.get(actor.next_events.remote(token, POLL_S),
                                       timeout=self.timeout_s)
            for event in events:
                call.sink(event)
            if finished:
                break
            if call.cancel.is_set() and not told:
                actor.interrupt.remote(token)
                told = True
        result: PartResult = ray.get(ref, timeout=self.timeout_s)
        return result

    def _lose(self, detail: str) -> None:
        self.alive = False
        self._fail_queued(detail)
        self.on_lost(self.name, detail)

    def _fail_queued(self, detail: str) -> None:
        while True:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                return
            if call is not None and not call.future.done():
                call.future.set_exception(WorkerLost(self.name, detail))
