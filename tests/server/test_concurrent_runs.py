"""Several prompts at once when the runtime has an executor (issue 15, `graphrt serve --ray`):
up to the executor's capacity run together, in queue order, each ending once in history;
interrupts reach all of them or only the one named; shutdown and crashes re-queue every
running prompt. The executor here is a fake: in-process "workers" (a Runtime each) that
record who runs what and hold each run at its start until the test opens the gate, so
overlap is shown by the fake's records, never by timing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from graphrt import Registry, Runtime
from graphrt.core import events as ev
from graphrt.core.execute import RunResult
from graphrt.core.plan import KeyLookup, Plan
from graphrt.core.runtime import Runtime as CoreRuntime
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.queue import PromptQueue
from tests.fakeops import FAKE_OPS

from .local import LocalClient, local_client, local_config

REGISTRY = Registry(FAKE_OPS)
BOUND_S = 30.0  # every wait of these tests ends by then


class FakeExecutor:
    """`capacity` in-process workers; each run takes a free one, waits at the gate (or for
    its interrupt), then runs its plan there. Records starts, ends and the most at once."""

    def __init__(self, capacity: int = 2) -> None:
        self.capacity = capacity
        self.gate = threading.Event()
        self.workers: list[CoreRuntime] = []
        self.free: list[int] = []
        self.active: dict[str, int] = {}  # prompt id → the worker running it
        self.flags: dict[str, threading.Event] = {}  # prompt id → its run's interrupt flag
        self.started: list[tuple[str, int]] = []
        self.ended: Counter[str] = Counter()
        self.peak = 0
        self.changed = threading.Condition()

    def bind(self, runtime: CoreRuntime) -> None:
        folders = runtime.folders
        self.workers = [Runtime(registry=REGISTRY, device="cpu", models_dir=folders.models,
                                input_dir=folders.input, output_dir=folders.output)
                        for _ in range(self.capacity)]
        self.free = list(range(self.capacity))

    def run(self, plan: Plan, sink: ev.Sink | None, cancel: threading.Event) -> RunResult:
        prompt = str(getattr(sink, "prompt_id", ""))  # the server's sink names its prompt
        with self.changed:
            assert self.free, "the server ran more prompts than the executor has workers"
            worker = self.free.pop(0)
            self.active[prompt], self.flags[prompt] = worker, cancel
            self.started.append((prompt, worker))
            self.peak = max(self.peak, len(self.active))
            self.changed.notify_all()
        try:
            deadline = time.monotonic() + BOUND_S
            while not (self.gate.is_set() or cancel.is_set()):
                assert time.monotonic() < deadline, "the gate never opened"
                cancel.wait(0.01)
            return self.workers[worker].run(plan, on_event=sink, cancel=cancel)
        finally:
            with self.changed:
                del self.active[prompt]
                self.free.append(worker)
                self.ended[prompt] += 1
                self.changed.notify_all()

    def lookup(self) -> KeyLookup:
        return self.workers[0].store

    def routes(self, plan: Plan) -> list[dict[str, Any]]:
        return []

    def wait(self, check: Callable[[], bool], what: str) -> None:
        with self.changed:
            assert self.changed.wait_for(check, BOUND_S), f"timed out waiting for {what}"


def doc(value: float) -> dict[str, Any]:
    return {"nodes": {"c": {"op": "test.const", "params": {"value": value}},
                      "d": {"op": "test.add", "in": {"a": "c.out"}, "params": {"value": 1}}},
            "outputs": {"out": "d.out"}}


def make_app(tmp_path: Path, fake: FakeExecutor) -> Any:
    cfg = local_config(tmp_path)
    runtime = Runtime(registry=REGISTRY, device="cpu", input_dir=cfg.input_dir,
                      output_dir=cfg.output_dir, models_dir=cfg.models_dir, executor=fake)
    return create_app(cfg, runtime=runtime)


@contextmanager
def serving(tmp_path: Path, fake: FakeExecutor) -> Iterator[LocalClient]:
    """A started server on `fake`; the gate opens before it stops (nothing left waiting)."""
    try:
        with local_client(make_app(tmp_path, fake)) as client:
            yield client
    finally:
        fake.gate.set()


def submit(client: LocalClient, value: float, prompt_id: str) -> str:
    answer = client.post("/prompt", json={"prompt": doc(value), "prompt_id": prompt_id,
                                          "client_id": "c"})
    assert answer.status_code == 200, answer.text
    return prompt_id


def ended(client: LocalClient, ids: list[str]) -> dict[str, Any]:
    """History entries of `ids`, once all of them have ended."""
    deadline = time.monotonic() + BOUND_S
    while True:
        history = {i: client.get(f"/history/{i}").json().get(i) for i in ids}
        if all(history.values()):
            return history
        assert time.monotonic() < deadline, f"not ended: {[i for i in ids if not history[i]]}"
        time.sleep(0.02)


def states(history: dict[str, Any]) -> dict[str, str]:
    return {i: h["graphrt"]["state"] for i, h in history.items()}


class Socket:
    """The messages of one WebSocket client, read on a thread of their own."""

    def __init__(self, ws: Any) -> None:
        self.messages: list[dict[str, Any]] = []
        threading.Thread(target=self._read, args=(ws,), daemon=True).start()

    def _read(self, ws: Any) -> None:
        try:
            while True:
                self.messages.append(ws.receive_json())
        except Exception:  # the socket closed at the end of the test
            return

    def of(self, prompt_id: str) -> list[str]:
        return [m["type"] for m in list(self.messages) if isinstance(m["data"], dict)
                and m["data"].get("prompt_id") == prompt_id]

    def wait_ended(self, ids: list[str]) -> None:
        """Until each of `ids` has had its last message: `executing` {node: null}."""
        deadline = time.monotonic() + BOUND_S
        while not all({"type": "executing", "data": {"node": None, "prompt_id": i}}
                      in list(self.messages) for i in ids):
            assert time.monotonic() < deadline, "the end messages did not come"
            time.sleep(0.02)


def test_prompts_run_together_up_to_the_capacity_in_queue_order(tmp_path: Path) -> None:
    fake = FakeExecutor(capacity=2)
    with serving(tmp_path, fake) as client, client.websocket_connect("/ws?clientId=c") as ws:
        socket = Socket(ws)
        ids = [submit(client, v, f"p{v}") for v in range(3)]
        fake.wait(lambda: len(fake.active) == 2, "two prompts running at once")
        # one per worker (their threads may reach the executor in either order); the queue
        # shows them dispatched in queue order
        assert sorted(p for p, _ in fake.started) == ["p0", "p1"]
        assert sorted(fake.active.values()) == [0, 1]
        queue = client.get("/queue").json()
        assert [i[1] for i in queue["queue_running"]] == ["p0", "p1"]
        assert [i[1] for i in queue["queue_pending"]] == ["p2"]
        jobs = client.get("/jobs?status=in_progress").json()["jobs"]
        assert sorted(j["id"] for j in jobs) == ["p0", "p1"]
        fake.gate.set()
        history = ended(client, ids)
        socket.wait_ended(ids)
    assert states(history) == dict.fromkeys(ids, "success")
    assert fake.ended == Counter(ids) and fake.peak == 2  # each ran once; never over capacity
    started = [p for p, _ in fake.started]
    assert sorted(started[:2]) == ids[:2] and started[2] == ids[2]  # p2 only once one ended
    for prompt_id in ids:  # each prompt's messages in order, its end once, then node null
        ours = socket.of(prompt_id)
        assert ours[0] == "execution_start" and ours.count("execution_success") == 1
        assert ours[-2:] == ["execution_success", "executing"]


@pytest.mark.parametrize(("path", "body"), [
    ("/interrupt", {"prompt_id": "p0"}), ("/jobs/p0/cancel", None), ("/queue", {"delete": ["p0"]}),
], ids=["interrupt-id", "job-cancel", "queue-delete"])
def test_stopping_one_running_prompt_leaves_the_other_running(
        tmp_path: Path, path: str, body: Any) -> None:
    fake = FakeExecutor(capacity=2)
    with serving(tmp_path, fake) as client:
        ids = [submit(client, v, f"p{v}") for v in range(2)]
        fake.wait(lambda: len(fake.active) == 2, "two prompts running at once")
        assert client.post(path, json=body).status_code == 200
        assert states(ended(client, ["p0"])) == {"p0": "interrupted"}
        assert fake.flags["p0"].is_set() and not fake.flags["p1"].is_set()
        assert list(fake.active) == ["p1"]  # still running
        fake.gate.set()
        history = ended(client, ids)
    assert states(history) == {"p0": "interrupted", "p1": "success"}
    assert fake.ended == Counter(ids)


def test_a_global_interrupt_stops_every_running_prompt(tmp_path: Path) -> None:
    fake = FakeExecutor(capacity=2)
    with serving(tmp_path, fake) as client:
        ids = [submit(client, v, f"p{v}") for v in range(3)]
        fake.wait(lambda: len(fake.active) == 2, "two prompts running at once")
        assert client.post("/interrupt").json() == {"interrupted": True}
        assert states(ended(client, ids[:2])) == dict.fromkeys(ids[:2], "interrupted")
        fake.gate.set()  # the next in the queue runs as usual
        assert states(ended(client, ids[2:])) == {"p2": "success"}
    assert fake.ended == Counter(ids)


def test_shutdown_requeues_every_running_prompt_and_a_restart_runs_each_once(
        tmp_path: Path) -> None:
    fake = FakeExecutor(capacity=2)
    with serving(tmp_path, fake) as client:
        ids = [submit(client, v, f"p{v}") for v in range(3)]
        fake.wait(lambda: len(fake.active) == 2, "two prompts running at once")
    # stopping interrupted both; they went back in the queue, their attempts not counted
    queue = PromptQueue(local_config(tmp_path).db_path)
    running, pending = queue.in_queue()
    assert running == [] and [r.id for r in pending] == ids
    assert [r.attempts for r in pending] == [0, 0, 0]
    queue.close()
    again = FakeExecutor(capacity=2)
    again.gate.set()
    with serving(tmp_path, again) as client:
        history = ended(client, ids)
    assert states(history) == dict.fromkeys(ids, "success")
    assert again.ended == Counter(ids)
    assert [h["graphrt"]["attempts"] for h in history.values()] == [1, 1, 1]


def test_a_restart_after_a_crash_requeues_both_running_prompts(tmp_path: Path) -> None:
    queue = PromptQueue(local_config(tmp_path).db_path)
    ids = ["p0", "p1", "p2"]
    for i, prompt_id in enumerate(ids):
        queue.add(prompt_id, {"prompt": doc(i), "args": None, "class_types": {},
                              "format": "native"}, "c", 10)
    assert [queue.claim().id for _ in range(2)] == ["p0", "p1"]  # type: ignore[union-attr]
    queue.close()  # the server died while both ran
    fake = FakeExecutor(capacity=2)
    with serving(tmp_path, fake) as client:
        fake.wait(lambda: len(fake.active) == 2, "both recovered prompts running at once")
        assert sorted(fake.active) == ["p0", "p1"]  # re-queued at the head, in order
        fake.gate.set()
        history = ended(client, ids)
    assert states(history) == dict.fromkeys(ids, "success")
    assert fake.ended == Counter(ids)
    assert [h["graphrt"]["attempts"] for h in history.values()] == [2, 2, 1]


def test_without_an_executor_prompts_run_one_at_a_time(tmp_path: Path) -> None:
    cfg = local_config(tmp_path)
    runtime = Runtime(registry=REGISTRY, device="cpu", output_dir=cfg.output_dir)
    application = create_app(cfg, runtime=runtime)
    server = application.state.server
    seen: list[list[str]] = []
    run = runtime.run

    def recording(*args: Any, **kwargs: Any) -> RunResult:
        seen.append(server.worker.running)
        return run(*args, **kwargs)

    runtime.run = recording  # type: ignore[method-assign]
    with local_client(application) as client:
        ids = [submit(client, v, f"p{v}") for v in range(3)]
        history = ended(client, ids)
    assert states(history) == dict.fromkeys(ids, "success")
    assert seen == [["p0"], ["p1"], ["p2"]]  # each ran alone, in queue order
