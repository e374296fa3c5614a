"""`graphrt serve --ray` (in process: the app the command builds, on the session's cluster):
prompts run on Ray workers; a worker killed while it samples costs nothing but time — the
prompt completes once, on another worker, and the server keeps serving."""

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




def test_the_server_on_ray_survives_a_worker_killed_mid_prompt(ray_cluster: Any,
                                                               tmp_path: Path) -> None:
    app = create_app(replace(local_config(tmp_path), ray_address="local"))
    executor = app.state.server.runtime.executor
    assert executor is not None and executor.address is None  # joins the running cluster
    try:
        with recorded(app, "ray") as (client, messages):
            pid = client.post("/prompt", json={"prompt": txt2img(seed=1, steps=500),
                                               "client_id": "ray"}).json()["prompt_id"]
            wait_for(lambda: any(m["type"] == "progress" and m["data"]["prompt_id"] == pid
                                 for m in list(messages)), 120, "sampling to start")
            (victim,) = [w for w, s in executor.index.summary().items() if s["queued"] > 0]
            ray_cluster.kill(executor.actor(victim))

            def history(prompt_id: str) -> Any:
                return client.get(f"/history/{prompt_id}").json().get(prompt_id)

            entry = wait_for(lambda: history(pid), 120, "the prompt to end")
            assert entry["status"]["status_str"] == "success", entry["status"]
            assert entry["graphrt"]["stats"]["worker_losses"] == 1
            after = client.post("/prompt", json={"prompt": txt2img(seed=2), "client_id": "ray"})
            second = after.json()["prompt_id"]
            assert wait_for(lambda: history(second), 60, "the next prompt")["status"][
                "status_str"] == "success"  # the server keeps serving
            ends = wait_for(lambda: [m for m in list(messages) if m["type"] in (
                "execution_success", "execution_error") and m["data"]["prompt_id"] == pid],
                10, "the prompt's end message")
            assert [m["type"] for m in ends] == ["execution_success"]  # it ended once
            ours = [m["type"] for m in list(messages) if isinstance(m["data"], dict)
                    and m["data"].get("prompt_id") == pid]
            # streamed in order: the start first, progress before the end, nothing after it
            assert ours[0] == "execution_start" and "progress" in ours
            assert ours.index("execution_success") > max(
                i for i, kind in enumerate(ours) if kind == "progress")
            assert ours[-1] == "executing"  # {node: null}, after history is written
        assert len(list((tmp_path / "out").glob("*.png"))) == 2
        assert victim not in executor.stats()["alive"]
    finally:
        executor.close()
