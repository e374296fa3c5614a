"""Break 7: history is paginated and bounded. GET /history pages as ComfyUI does
(`max_items`, `offset` from the oldest; without `offset`, the newest), never answers more
than a page of entries nor more than a byte budget of stored prompts, and says where the
page sits (X-History-Total, X-History-Offset); a prompt's extra_data is size-limited."""

from __future__ import annotations

from pathlib import Path

from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import Limits, ServerConfig
from graphrt.fronts.server.queue import PromptQueue

from .local import LocalClient, local_client
from .workflows import txt2img

MiB = 1024 * 1024


def finished(tmp_path: Path, count: int, pad: int = 0, **limits: int) -> LocalClient:
    """A server (not started) whose history holds `count` finished prompts p0, p1, …"""
    config = ServerConfig(state_dir=tmp_path / "state", device="cpu", limits=Limits(**limits))
    queue = PromptQueue(config.db_path)
    for i in range(count):
        queue.add(f"p{i}", {"prompt": {"pad": "x" * pad}, "format": "comfy"}, None, count)
        queue.claim()
        queue.finish(f"p{i}", "success", {"outputs": {}})
    queue.close()
    return local_client(create_app(config))


def ids(response: object) -> list[str]:
    return list(response.json())  # type: ignore[attr-defined]


def test_history_pages_like_comfyui_and_is_bounded(tmp_path: Path) -> None:
    client = finished(tmp_path, 30, history_page=8)
    everything = client.get("/history")
    assert ids(everything) == [f"p{i}" for i in range(22, 30)]  # the newest page, not all 30
    assert everything.headers["x-history-total"] == "30"
    assert everything.headers["x-history-offset"] == "22"
    assert ids(client.get("/history?max_items=3")) == ["p27", "p28", "p29"]
    assert ids(client.get("/history?max_items=3&offset=0")) == ["p0", "p1", "p2"]
    assert ids(client.get("/history?offset=25")) == [f"p{i}" for i in range(25, 30)]
    assert len(ids(client.get("/history?max_items=1000"))) == 8  # capped at a page
    assert ids(client.get("/history?offset=99")) == []
    for bad in ("max_items=-1", "max_items=ten", "offset=-5", "max_items=1e9",
                "offset=99999999999999999999"):
        response = client.get(f"/history?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["error"]["type"] == "invalid_request"


def test_a_history_answer_stays_under_its_byte_budget(tmp_path: Path) -> None:
    client = finished(tmp_path, 12, pad=MiB, max_history_bytes=4 * MiB)
    response = client.get("/history?max_items=12&offset=0")
    assert ids(response) == ["p0", "p1", "p2"]  # a little over 1 MiB each: 3 fit in 4 MiB
    assert len(response.content) < 5 * MiB
    tiny = finished(tmp_path / "tiny", 3, pad=MiB, max_history_bytes=10)
    assert len(ids(tiny.get("/history"))) == 1  # always at least one entry


def test_extra_data_is_size_limited(tmp_path: Path) -> None:
    config = ServerConfig(state_dir=tmp_path / "state", device="cpu",
                          limits=Limits(max_extra_data_bytes=64 * 1024))
    client = local_client(create_app(config))
    big = client.post("/prompt", json={"prompt": txt2img(),
                                       "extra_data": {"extra_pnginfo": "x" * 100_000}})
    assert big.status_code == 413 and big.json()["error"]["type"] == "extra_data_too_large"
    assert client.get("/queue").json()["queue_pending"] == []
    ok = client.post("/prompt", json={"prompt": txt2img(),
                                      "extra_data": {"extra_pnginfo": "x" * 1000}})
    assert ok.status_code == 200
    assert Limits().max_extra_data_bytes <= MiB
