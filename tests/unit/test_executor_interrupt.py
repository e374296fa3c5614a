"""With an executor, runs of several threads go on at once: `Runtime.interrupt` reaches
every one of them, not only the last started."""

from __future__ import annotations

import threading
from typing import Any

from graphrt import Runtime
from graphrt.core.plan import Plan
from tests.fakeops import FAKE_OPS
from tests.unit.test_scale import chain


class WaitingExecutor:
    """Runs nothing: each run waits for its interrupt flag and records that it saw it."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.stopped: list[bool] = []

    def bind(self, runtime: Runtime) -> None:
        pass

    def run(self, plan: Plan, sink: Any, cancel: threading.Event) -> Any:
        self.started.release()
        self.stopped.append(cancel.wait(timeout=30))
        return None

    def lookup(self) -> Any:
        return set()

    def routes(self, plan: Plan) -> list[dict[str, Any]]:
        return []


def test_interrupt_reaches_every_run_going_on() -> None:
    executor = WaitingExecutor()
    rt = Runtime(registry=FAKE_OPS, executor=executor)
    plan = rt.prepare(chain(3))
    threads = [threading.Thread(target=rt.run, args=(plan,)) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in threads:
        assert executor.started.acquire(timeout=30)
    rt.interrupt()
    for t in threads:
        t.join(timeout=30)
    assert executor.stopped == [True, True]
    assert rt._running == set()  # finished runs leave no flag behind
