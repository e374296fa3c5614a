"""`graphrt serve --ray` runs one prompt per worker at once (in process: the app the command
builds, on the session's cluster of two workers): two prompts submitted together sample on
two different workers at the same time (the executor's own routes, and each prompt's
progress reaching the client before the other's end), and both succeed once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from graphrt.fronts.server.app import create_app
from tests.server.local import local_config
from tests.server.recorded import recorded, wait_for
from tests.server.workflows import txt2img

pytestmark = pytest.mark.ray
STEPS = 800  # long enough that the second prompt starts before the first ends




def test_two_prompts_run_at_once_on_two_workers(ray_cluster: Any, tmp_path: Path) -> None:
    app = create_app(replace(local_config(tmp_path), ray_address="local"))
    server = app.state.server
    executor = server.runtime.executor
    assert executor is not None
    try:
        with recorded(app, "ray") as (client, messages):
            ids = [client.post("/prompt", json={"prompt": txt2img(seed=s, steps=STEPS),
                                                "client_id": "ray"}).json()["prompt_id"]
                   for s in (1, 2)]

            def history(prompt_id: str) -> Any:
                return client.get(f"/history/{prompt_id}").json().get(prompt_id)

            # both running: the queue shows them together while they sample
            running = wait_for(lambda: len(client.get("/queue").json()["queue_running"]) == 2,
                               120, "both prompts to run")
            assert running and executor.capacity == 2
            entries = [wait_for(lambda i=i: history(i), 120, "the prompts to end") for i in ids]
            wait_for(lambda: all({"type": "executing", "data": {"node": None, "prompt_id": i}}
                                 in list(messages) for i in ids), 10, "the end messages")
        assert [e["status"]["status_str"] for e in entries] == ["success", "success"]
        samplers = []
        for entry in entries:  # the worker of each prompt's sampling part, by the executor
            parts = entry["graphrt"]["stats"]["parts"]
            (sampling,) = [p for p in parts if any(n.startswith("3") for n in p["nodes"])]
            samplers.append(sampling["worker"])
        assert len(set(samplers)) == 2, samplers
        seen = [(m["type"], m["data"].get("prompt_id")) for m in list(messages)
                if isinstance(m["data"], dict)]
        first, second = ids
        for me, other in ((first, second), (second, first)):  # the runs overlapped
            assert seen.index(("progress", me)) < seen.index(("execution_success", other))
        for prompt_id in ids:  # per prompt, in order: start … its end once, then node null
            ours = [kind for kind, pid in seen if pid == prompt_id]
            assert ours[0] == "execution_start" and ours.count("execution_success") == 1
            assert ours[-2:] == ["execution_success", "executing"]
        assert len(list((tmp_path / "out").glob("*.png"))) == 2
    finally:
        executor.close()
