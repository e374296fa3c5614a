"""The worker: takes prompts from the durable queue, in order, and runs them.

One prompt runs at a time in this process. When the runtime hands its runs to an executor
(`Runtime(executor=...)`, `graphrt serve --ray`), up to the executor's `capacity` prompts
(its worker count; one while it is unknown) run at once, each on a runner thread of its
own: a dispatcher claims the oldest pending prompt whenever a slot is free, so prompts
start in queue order. Every running prompt has its own interrupt flag: `/interrupt`
without an id stops them all, with one (or a job's cancel) only that prompt.

The Runtime (and its cache) lives as long as the server, so a resubmitted prompt is served
from the cache. A prompt is planned once: the plan the server checked when it was submitted
is handed over in `plans`; only a prompt recovered after a restart is planned again, within
the same limits, and `/interrupt` stops that planning too. A prompt's end is written to
history before the final `executing` {node: null} message goes out, so a client that sees it
can fetch /history at once. Each prompt's messages come from its own runner, in order;
those of prompts running at once interleave, each carrying its prompt_id.

Every prompt the worker takes ends in history, with a status its client is told: when
running it raises anywhere (a bug, a storage fault), it ends as an error; when its end
cannot be written (a full state disk), the queue holds it in memory and writes it later.
On shutdown the running prompts are interrupted and put back in the queue, their attempts
not counted, to run at the next start; a prompt the server died during too often is failed
(`give_up`).
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from graphrt.compat.comfy.messages import Final, RunMessages
from graphrt.compat.comfy.outputs import ui_outputs
from graphrt.core.errors import Cancelled, InvalidGraph
from graphrt.core.plan import Plan
from graphrt.core.runtime import Runtime
from graphrt.fronts.server.hub import Hub
from graphrt.fronts.server.queue import PromptQueue, PromptRow

log = logging.getLogger("graphrt.fronts.server")
Prepare = Callable[[PromptRow, threading.Event], Plan]


def _as_is(body: Any) -> Any:
    return body


def slots(runtime: Runtime) -> int:
    """Prompts that may run at once: one in this process; with an executor, its
    `capacity` (its worker count), when it declares one."""
    executor = runtime.executor
    if executor is None:
        return 1
    try:
        return max(1, int(getattr(executor, "capacity", 1)))
    except Exception:  # an executor that cannot say: one at a time
        log.exception("the executor cannot tell its capacity")
        return 1


class Worker:
    """Runs queued prompts on background threads (see the module docstring)."""

    def __init__(self, runtime: Runtime, queue: PromptQueue, hub: Hub, *,
                 prepare: Prepare | None = None,
                 redact: Callable[[Any], Any] = _as_is) -> None:
        self.runtime, self.queue, self.hub = runtime, queue, hub
        self.prepare = prepare or (lambda row, cancel: runtime.prepare(
            row.body["prompt"], args=row.body.get("args") or None))
        self.redact = redact  # error texts → no absolute server paths
        self.plans: dict[str, Plan] = {}  # prompt id → the plan checked at submission
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # claims, the running prompts' flags and runners
        self._cancels: dict[str, threading.Event] = {}  # running prompt → its interrupt flag
        self._runners: dict[str, threading.Thread] = {}  # running prompt → its thread
        self._names = itertools.count()

    @property
    def current(self) -> str | None:
        """The oldest prompt still running (None when none is)."""
        with self._lock:
            return next(iter(self._cancels), None)

    @property
    def running(self) -> list[str]:
        """The prompts running now, oldest first."""
        with self._lock:
            return list(self._cancels)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="graphrt-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Interrupt the running prompts (each goes back in the queue) and wait for them."""
        with self._lock:
            self._stop.set()
            for cancel in self._cancels.values():
                cancel.set()
        self.wake.set()
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            runners = list(self._runners.values())
        for runner in runners:
            runner.join(max(0.0, deadline - time.monotonic()))

    def interrupt(self, prompt_id: str | None = None) -> bool:
        """Interrupt every running prompt, or only `prompt_id` when given; False when none
        was running."""
        with self._lock:
            if prompt_id is None:
                flags = list(self._cancels.values())
            else:
                flags = [self._cancels[prompt_id]] if prompt_id in self._cancels else []
        for cancel in flags:
            cancel.set()
        return bool(flags)

    def forget_removed(self) -> None:
        """Drop the plans of prompts no longer pending (deleted or cleared from the queue)."""
        _running, pending = self.queue.in_queue()
        keep = {row.id for row in pending}
        for prompt_id in [k for k in self.plans if k not in keep]:
            self.plans.pop(prompt_id, None)

    def status(self) -> dict[str, Any]:
        try:
            running, pending = self.queue.in_queue()
            remaining = len(running) + len(pending)
        except sqlite3.Error:
            remaining = 0
        return {"status": {"exec_info": {"queue_remaining": remaining}}}

    def give_up(self, row: PromptRow, reason: str) -> None:
        """End a prompt without running it (it was tried too often), telling its client."""
        msgs = self._messages(row)
        self._end(row, msgs, msgs.error(reason, "Abandoned"), "error", {}, {})

    def _loop(self) -> None:
        """Claim the oldest pending prompt whenever a slot is free; hand it to a runner."""
        while not self._stop.is_set():
            row = None
            try:
                if self.queue.held:
                    self.queue.flush()
                with self._lock:
                    if len(self._runners) < slots(self.runtime) and not self._stop.is_set():
                        row = self.queue.claim()
                        if row is not None:
                            self._begin(row)
            except Exception:  # a broken database must not spin the CPU
                log.exception("cannot read the queue")
            if row is None:
                self.wake.wait(0.5)
                self.wake.clear()

    def _begin(self, row: PromptRow) -> None:
        """Register `row`'s interrupt flag (before it runs: an interrupt is never lost) and
        start its runner (lock held)."""
        self._cancels[row.id] = threading.Event()
        runner = threading.Thread(target=self._serve, args=(row,), daemon=True,
                                  name=f"graphrt-run-{next(self._names)}")
        self._runners[row.id] = runner
        try:
            runner.start()
        except BaseException:  # no thread to run it: back in the queue
            self._cancels.pop(row.id, None)
            self._runners.pop(row.id, None)
            self.queue.requeue(row.id)
            raise

    def _serve(self, row: PromptRow) -> None:
        """A runner: one prompt, ended in history whatever happens; then its slot is free."""
        try:
            self._run(row)
        except Exception as exc:  # never let one prompt kill the worker, nor be lost
            log.exception("prompt %s crashed its runner", row.id)
            self._crashed(row, exc)
        finally:
            with self._lock:
                self._cancels.pop(row.id, None)
                self._runners.pop(row.id, None)
            self.wake.set()

    def _messages(self, row: PromptRow) -> RunMessages:
        sid = row.client_id
        return RunMessages(row.id, row.body.get("class_types", {}),
                           lambda kind, data: self.hub.send(kind, data, sid))

    def _run(self, row: PromptRow) -> None:
        body = row.body
        msgs = self._messages(row)
        with self._lock:
            cancel = self._cancels.setdefault(row.id, threading.Event())
        self.hub.send("status", self.status())
        outputs: dict[str, Any] = {}
        summary: dict[str, Any] = {}
        plan = self.plans.pop(row.id, None)
        try:
            if plan is None:  # recovered after a restart: plan it again, within the limits
                plan = self.prepare(row, cancel)
            msgs.use_plan(plan)
            result = self.runtime.run(plan, on_event=msgs, cancel=cancel)
        except Cancelled:  # interrupted while it was planned again
            if self._stop.is_set():
                self.queue.requeue(row.id)
                return
            final, status = msgs.interrupted(), "interrupted"
        except InvalidGraph as exc:  # valid when queued, not now (a file went away)
            msgs.current = next((i.source or i.node for i in exc.issues if i.node), None)
            final = msgs.error("; ".join(str(i) for i in exc.issues), "InvalidGraph")
            status = "error"
        except Exception as exc:
            final = msgs.error(f"{type(exc).__name__}: {exc}", type(exc).__name__,
                               traceback.format_exc(limit=20))
            status = "error"
        else:
            if result.interrupted and self._stop.is_set():
                self.queue.requeue(row.id)  # shutting down: runs again at the next start
                return
            outputs = ui_outputs(body["prompt"], result.outputs)
            summary.update(executed=result.executed, cached=result.cached,
                           failed=result.failed, blocked=result.blocked, stats=result.stats)
            if plan.dropped_outputs:  # left out when it was checked (see submit.py)
                summary["dropped_outputs"] = list(plan.dropped_outputs)
            if result.interrupted:
                final, status = msgs.interrupted(), "interrupted"
            elif result.failed or result.blocked:
                final, status = msgs.error(), "error"
            else:
                final, status = msgs.success(), "success"
        self._end(row, msgs, final, status, outputs, summary)

    def _crashed(self, row: PromptRow, exc: Exception) -> None:
        """End a prompt whose handling raised outside the run: an error, told to its client."""
        msgs = self._messages(row)
        final = msgs.error(f"{type(exc).__name__}: {exc}", type(exc).__name__,
                           traceback.format_exc(limit=20))
        try:
            self._end(row, msgs, final, "error", {}, {})
        except Exception:
            log.exception("cannot end prompt %s", row.id)

    def _end(self, row: PromptRow, msgs: RunMessages, final: Final, status: str,
             outputs: dict[str, Any], summary: dict[str, Any]) -> None:
        """Write the prompt's end to history (or hold it, if the disk refuses), then tell
        its client."""
        final = (final[0], self.redact(final[1]))
        messages = [*msgs.log, list(final)]
        history = {"outputs": outputs, "meta": {n: {"node_id": n, "display_node": n}
                                                for n in outputs},
                   "status": {"status_str": "success" if status == "success" else "error",
                              "completed": status == "success", "messages": messages},
                   "graphrt": {"attempts": row.attempts, **summary}}
        if not self.queue.finish(row.id, status, history):
            log.error("prompt %s ended (%s) but its end cannot be written to %s yet; it is "
                      "kept in memory", row.id, status, "the state folder")
        sid = row.client_id
        for node, output in outputs.items():
            msgs.executed_output(node, output)
        self.hub.send(*final, sid)
        with self._lock:  # ended: no longer interrupted (its slot frees when its runner ends)
            self._cancels.pop(row.id, None)
        self.hub.send("executing", {"node": None, "prompt_id": row.id}, sid)
        self.hub.send("status", self.status())
