"""Must-show 6: 200 small prompts from 10 concurrent clients against a queue of 20.

Clients retry a 503 a few times, as a polite client does. Every prompt is either accepted
and completes exactly once, or finally refused with 503 and a "queue_full" body; the
server's memory stays bounded. Numbers are written to
<tmp>/load.json and printed (pytest -s, or -rP).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from .live import Client, serving
from .workflows import txt2img

CLIENTS, PER_CLIENT, MAX_QUEUE, RETRIES = 10, 20, 20, 3
MiB = 1024 * 1024


def test_6_load_200_prompts_10_clients_none_lost_memory_bounded(tmp_path: Path) -> None:
    with serving(tmp_path, "--max-queue", str(MAX_QUEUE)) as live:
        warm = Client(live.url)
        warm.run(txt2img(seed=0, steps=2))  # torch and the toy model loaded
        warm.close()
        baseline = live.rss()
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], live.rss())
                time.sleep(0.1)

        sampler = threading.Thread(target=sample)
        sampler.start()

        busy = [0]

        def one_client(k: int) -> list[tuple[int, dict]]:
            """Submit 20 prompts; on 503 retry up to RETRIES times, then give up on it."""
            out = []
            with httpx.Client(base_url=live.url, timeout=30) as http:
                for i in range(PER_CLIENT):
                    seed = 1000 + k * PER_CLIENT + i
                    body = {"prompt": txt2img(seed=seed, steps=2, prefix=f"load{k}"),
                            "client_id": f"client{k}"}
                    for _ in range(RETRIES + 1):
                        r = http.post("/prompt", json=body)
                        if r.status_code != 503:
                            break
                        busy[0] += 1
                        time.sleep(0.1)
                    out.append((r.status_code, r.json()))
            return out

        start = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [a for batch in pool.map(one_client, range(CLIENTS)) for a in batch]
        submitted = time.monotonic() - start
        accepted = [body["prompt_id"] for status, body in answers if status == 200]
        refused = [body for status, body in answers if status == 503]
        with httpx.Client(base_url=live.url, timeout=30) as http:
            deadline = time.monotonic() + 240
            while True:
                history = http.get("/history").json()
                if all(p in history for p in accepted) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - start
            queue = http.get("/queue").json()
        done.set()
        sampler.join()
    numbers = {"accepted": len(accepted), "refused": len(refused), "answers_503": busy[0],
               "submit_seconds": round(submitted, 2), "total_seconds": round(elapsed, 2),
               "completed_per_second": round(len(accepted) / elapsed, 1),
               "rss_baseline_mib": round(baseline / MiB), "rss_peak_mib": round(peak[0] / MiB)}
    (tmp_path / "load.json").write_text(json.dumps(numbers))
    print("load test:", numbers)
    assert len(answers) == CLIENTS * PER_CLIENT
    assert len(accepted) + len(refused) == len(answers), {s for s, _ in answers}
    assert busy[0] > 0  # the queue did fill up
    assert all(b["error"]["type"] == "queue_full" for b in refused)
    assert len(set(accepted)) == len(accepted)
    finished = {p: history[p] for p in accepted if p in history}
    assert len(finished) == len(accepted), "accepted prompts were lost"
    assert all(h["status"]["completed"] and h["graphrt"]["attempts"] == 1
               for h in finished.values())
    assert queue == {"queue_running": [], "queue_pending": []}
    assert peak[0] - baseline < 300 * MiB, numbers
