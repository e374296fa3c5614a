"""The worker: one thread that takes prompts from the durable queue, in order, and runs them.

The Runtime (and its cache) lives as long as the server, so a resubmitted prompt is served
from the cache. A prompt is planned once: the plan the server checked when it was submitted
is handed over in `plans`; only a prompt recovered after a restart is planned again. A
prompt's end is written to history before the final `executing` {node: null} message goes
out, so a client that sees it can fetch /history at once. On
shutdown the running prompt is interrupted and left `running`, to be re-queued by the next
start (`PromptQueue.recover`).
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

from graphrt.compat.comfy.messages import RunMessages
from graphrt.compat.comfy.outputs import ui_outputs
from graphrt.core.errors import InvalidGraph
from graphrt.core.plan import Plan
from graphrt.core.runtime import Runtime
from graphrt.fronts.server.hub import Hub
from graphrt.fronts.server.queue import PromptQueue, PromptRow

log = logging.getLogger("graphrt.fronts.server")


class Worker:
    """Runs queued prompts one at a time on a background thread."""

    def __init__(self, runtime: Runtime, queue: PromptQueue, hub: Hub) -> None:
        self.runtime, self.queue, self.hub = runtime, queue, hub
        self.plans: dict[str, Plan] = {}  # prompt id → the plan checked at submission
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: str | None = None
        self._cancel = threading.Event()  # the running prompt's interrupt flag

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="graphrt-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def interrupt(self, prompt_id: str | None = None) -> bool:
        """Interrupt the running prompt (only if it is `prompt_id`, when given)."""
        current = self.current
        if current is None or (prompt_id is not None and prompt_id != current):
            return False
        self._cancel.set()
        return True

    def forget_removed(self) -> None:
        """Drop the plans of prompts no longer pending (deleted or cleared from the queue)."""
        _running, pending = self.queue.in_queue()
        keep = {row.id for row in pending}
        for prompt_id in [k for k in self.plans if k not in keep]:
            self.plans.pop(prompt_id, None)

    def status(self) -> dict[str, Any]:
        running, pending = self.queue.in_queue()
        return {"status": {"exec_info": {"queue_remaining": len(running) + len(pending)}}}

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                row = self.queue.claim()
            except Exception:  # a broken database must not spin the CPU
                log.exception("cannot read the queue")
                row = None
            if row is None:
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            try:
                self._run(row)
            except Exception:  # never let one prompt kill the worker
                log.exception("prompt %s crashed the worker loop", row.id)
            finally:
                self.current = None

    def _run(self, row: PromptRow) -> None:
        body, sid = row.body, row.client_id
        msgs = RunMessages(row.id, body.get("class_types", {}),
                           lambda kind, data: self.hub.send(kind, data, sid))
        self._cancel = threading.Event()  # before `current`: an interrupt is never lost
        self.current = row.id
        self.hub.send("status", self.status())
        outputs: dict[str, Any] = {}
        summary: dict[str, Any] = {"attempts": row.attempts}
        plan = self.plans.pop(row.id, None)
        try:
            if plan is None:  # recovered after a restart: plan it again
                plan = self.runtime.prepare(body["prompt"], args=body.get("args") or None)
            msgs.sources = {n: plan.node(n).source for n in plan.order}
            result = self.runtime.run(plan, on_event=msgs, cancel=self._cancel)
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
                return  # shutting down: left running, re-queued at the next start
            outputs = ui_outputs(body["prompt"], result.outputs)
            summary.update(executed=result.executed, cached=result.cached,
                           failed=result.failed, blocked=result.blocked, stats=result.stats)
            if result.interrupted:
                final, status = msgs.interrupted(), "interrupted"
            elif result.failed or result.blocked:
                final, status = msgs.error(), "error"
            else:
                final, status = msgs.success(), "success"
        messages = [*msgs.log, list(final)]
        history = {"outputs": outputs, "meta": {n: {"node_id": n, "display_node": n}
                                                for n in outputs},
                   "status": {"status_str": "success" if status == "success" else "error",
                              "completed": status == "success", "messages": messages},
                   "graphrt": summary}
        self.queue.finish(row.id, status, history)
        for node, output in outputs.items():
            msgs.executed_output(node, output)
        self.hub.send(*final, sid)
        self.current = None
        self.hub.send("executing", {"node": None, "prompt_id": row.id}, sid)
        self.hub.send("status", self.status())
