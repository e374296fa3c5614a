"""The worker as a Ray actor: `PartWorker` plus fetching the values other workers export.

The head passes the object references of exported values nested in a list, so Ray does not
resolve them before the call: the worker resolves them itself, within `FETCH_TIMEOUT_S`,
and a value whose holder died is a missing input (the head re-plans), not a failed call.
Ray is imported here only inside the actor.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from graphrt.core.plan import Plan

from .wire import pack_all
from .worker import PartResult, PartTask, PartWorker, WorkerOptions

FETCH_TIMEOUT_S = 60.0


class RayWorker(PartWorker):
    """What each actor runs (ray.remote is applied by the executor)."""

    def __init__(self, name: str, options: WorkerOptions) -> None:
        super().__init__(name, options)
        if options.threads:  # Ray gives an actor one thread; ops get a local run's count
            os.environ["OMP_NUM_THREADS"] = str(options.threads)
            torch = sys.modules.get("torch")
            if torch is not None:
                torch.set_num_threads(options.threads)
        # zero-copy tensors are read-only by design here (see graphrt.distributed.wire)
        warnings.filterwarnings("ignore", message="Zero-copy tensor serialization")
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

    def run_part(self, plan: Plan, task: PartTask, *fetched: Any) -> PartResult:
        import ray

        refs = [ref for group in fetched for ref in group]
        try:
            values = ray.get(refs, timeout=FETCH_TIMEOUT_S) if refs else []
        except (ray.exceptions.RayError, TimeoutError):
            values = []
            lost = True
        else:
            lost = False
        if lost:  # a holder died before it exported: nothing runs, the head re-plans
            with self._cond:
                self._buffer(task.token).done = True
                self._cond.notify_all()
            return PartResult(task.token, missing=list(task.inputs))
        result = super().run_part(plan, task, *values)
        result.outputs = pack_all(result.outputs)  # for the head: ordinary tensors
        return result

    def export_packed(self, keys: list[str]) -> dict[str, Any]:
        """`export`, for the head (see graphrt.distributed.wire)."""
        return pack_all(self.export(keys))
