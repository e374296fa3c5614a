"""What the editor sees while prompts run, in process with the worker: a second identical
run shows every node as cached (execution_cached, the editor's own ids), every unrolled step
of a macro shows as progress on the macro node the user placed, the jobs view lists what
ran and what failed, and the terminal panel gets the server's log lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import ServerConfig

from .live import ROOT
from .local import LocalClient, local_client
from .workflows import txt2img


@pytest.fixture
def client(tmp_path: Path) -> Any:
    config = ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                          input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                          device="cpu")
    with local_client(create_app(config)) as c:
        yield c


def run(client: LocalClient, body: dict[str, Any], sid: str = "ed") -> list[dict[str, Any]]:
    """Submit through /api and return the prompt's messages up to `executing` {node: null}."""
    with client.websocket_connect(f"/api/ws?clientId={sid}") as ws:
        response = client.post("/api/prompt", json={**body, "client_id": sid})
        assert response.status_code == 200, response.text
        prompt_id = response.json()["prompt_id"]
        got: list[dict[str, Any]] = []
        while not got or got[-1] != {"type": "executing", "data": {
                "node": None, "prompt_id": prompt_id}}:
            message = ws.receive_json()
            if message["data"].get("prompt_id") == prompt_id:
                got.append(message)
    return got


def of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m["data"] for m in messages if m["type"] == kind]


def named_nodes(messages: list[dict[str, Any]]) -> set[str]:
    """Every node id the messages name."""
    names = {d["node"] for k in ("executing", "progress") for d in of(messages, k)}
    names |= {n for d in of(messages, "execution_cached") for n in d["nodes"]}
    names |= {n for d in of(messages, "progress_state") for n in d["nodes"]}
    return names - {None}


def test_a_second_identical_run_shows_every_node_cached(client: LocalClient) -> None:
    prompt = txt2img(seed=21, steps=3)
    first = run(client, {"prompt": prompt})
    assert of(first, "execution_cached") == [{"nodes": [], "prompt_id": first[0]["data"][
        "prompt_id"], "timestamp": of(first, "execution_cached")[0]["timestamp"]}]
    assert [(p["value"], p["max"], p["node"]) for p in of(first, "progress")] == [
        (1, 3, "3"), (2, 3, "3"), (3, 3, "3")]
    final = of(first, "progress_state")[-1]["nodes"]
    assert set(final) == set(prompt) and {n["state"] for n in final.values()} == {"finished"}
    assert final["3"]["value"] == final["3"]["max"] == 3
    assert named_nodes(first) <= set(prompt)

    second = run(client, {"prompt": prompt})
    (cached,) = of(second, "execution_cached")
    assert sorted(cached["nodes"]) == sorted(prompt)
    assert of(second, "progress") == [] and of(second, "progress_state") == []
    assert [d["node"] for d in of(second, "executing")] == [None]
    assert of(second, "executed")[0]["node"] == "9" and of(second, "execution_success")

    jobs = client.get("/api/jobs?status=completed&limit=10").json()["jobs"]
    assert len(jobs) == 2 and {j["status"] for j in jobs} == {"completed"}
    assert all(j["outputs_count"] == 1 and j["preview_output"]["nodeId"] == "9" for j in jobs)
    assert jobs[0]["execution_end_time"] >= jobs[0]["execution_start_time"]


def test_macro_steps_show_on_the_node_the_user_placed(client: LocalClient) -> None:
    doc = json.loads((ROOT / "graphs" / "two_samplers_for_mask.json").read_text())
    body = {"prompt": doc, "args": {"steps": 4}}
    plan = client.post("/api/graphrt/plan", json=body).json()
    steps = [n for n in plan["nodes"] if n["source"] == "pair" and n["model_calls"]]
    assert len(steps) >= 4  # the macro unrolls into several sampling nodes

    first = run(client, body)
    assert "execution_success" in [m["type"] for m in first]
    assert named_nodes(first) <= set(doc["nodes"])  # never "pair/s2.base"
    pair = [p for p in of(first, "progress") if p["node"] == "pair"]
    values = [p["value"] for p in pair]
    assert len(pair) >= len(steps) and values == sorted(values)
    assert {p["max"] for p in pair} == {plan["by_node"]["pair"]["model_calls"]}
    assert values[-1] == pair[-1]["max"]
    states = [d["nodes"]["pair"] for d in of(first, "progress_state") if "pair" in d["nodes"]]
    assert states[0]["state"] == "running" and states[-1]["state"] == "finished"
    assert states[-1]["value"] == states[-1]["max"] and states[-1]["display_node_id"] == "pair"
    assert [d["node"] for d in of(first, "executing")].count("pair") >= 1

    again = run(client, body)
    assert "pair" in of(again, "execution_cached")[0]["nodes"]
    assert of(again, "progress") == []

    doc["args"]["mask_prompt"]["default"] = "a blue square on the right"
    edited = run(client, body)
    assert "pair" not in of(edited, "execution_cached")[0]["nodes"]
    redone = [p for p in of(edited, "progress") if p["node"] == "pair"]
    assert 0 < len(redone) < len(pair)  # only the steps that changed ran again
    assert redone[-1]["value"] == redone[-1]["max"] == pair[-1]["max"]


def test_a_failed_job_carries_its_error(client: LocalClient, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "garbage.png").write_bytes(b"not a png")
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "garbage.png"}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}
    messages = run(client, {"prompt": prompt})
    assert of(messages, "execution_error")
    (job,) = client.get("/api/jobs?status=failed").json()["jobs"]
    error = job["execution_error"]
    assert error["node_id"] == "1" and error["node_type"] == "LoadImage"
    assert isinstance(error["exception_message"], str) and isinstance(error["traceback"], list)
    detail = client.get(f"/api/jobs/{job['id']}").json()
    assert detail["execution_status"]["status_str"] == "error"
    assert detail["workflow"]["prompt"] == prompt


def test_the_terminal_panel_gets_log_lines(client: LocalClient, tmp_path: Path) -> None:
    with client.websocket_connect("/api/ws?clientId=term") as ws:
        ws.receive_json()
        assert client.patch("/internal/logs/subscribe",
                            json={"enabled": True, "clientId": "term"}).status_code == 200
        logging.getLogger("graphrt.test").warning("disk at %s is slow", tmp_path / "state")
        message = ws.receive_json()
    assert message["type"] == "logs"
    (entry,) = message["data"]["entries"]
    assert "disk at <state> is slow" in entry["m"] and str(tmp_path) not in entry["m"]
    raw = client.get("/internal/logs/raw").json()["entries"]
    assert any("is slow" in e["m"] for e in raw)
    assert "is slow" in client.get("/internal/logs").json()
