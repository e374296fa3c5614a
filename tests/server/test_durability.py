"""Must-show 4: SIGKILL with 5 prompts queued; after a restart all 5 complete exactly once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from .live import Client, serving, stop
from .workflows import txt2img


def test_4_kill_9_with_five_queued_then_restart_completes_each_once(tmp_path: Path) -> None:
    ids: list[str] = []
    with serving(tmp_path) as first:
        client = Client(first.url)
        for seed in range(5):
            response = client.submit(txt2img(seed=100 + seed, steps=200, prefix=f"k{seed}"))
            assert response.status_code == 200, response.text
            ids.append(response.json()["prompt_id"])
        deadline = time.monotonic() + 30
        while not client.http.get("/queue").json()["queue_running"]:
            assert time.monotonic() < deadline, "nothing started running"
            time.sleep(0.05)
        queue = client.http.get("/queue").json()
        client.close()
        assert len(queue["queue_running"]) + len(queue["queue_pending"]) == 5
        stop(first, signal.SIGKILL)
        assert first.proc.returncode == -signal.SIGKILL

    with serving(tmp_path) as second:
        client = Client(second.url)
        deadline = time.monotonic() + 180
        while True:
            history = client.http.get("/history").json()
            if len(history) >= 5 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        queue = client.http.get("/queue").json()
        client.close()
    assert sorted(history) == sorted(ids), "a prompt was lost"
    assert queue == {"queue_running": [], "queue_pending": []}
    assert all(h["status"]["completed"] for h in history.values())
    attempts = sorted(h["graphrt"]["attempts"] for h in history.values())
    assert attempts in ([1, 1, 1, 1, 1], [1, 1, 1, 1, 2])  # only the running one re-ran
    files = sorted(p.name for p in (tmp_path / "output").glob("*.png"))
    assert len(files) == 5 and {f.split("_")[0] for f in files} == {f"k{i}" for i in range(5)}
    for prompt_id, h in history.items():
        (image,) = h["outputs"]["9"]["images"]
        assert image["filename"] in files, prompt_id
