"""Property-based fuzzing of the server, in process (bounded: a fixed number of examples,
derandomized, no example database): documents (ComfyUI prompts with any input replaced,
nodes added or dropped, native graphs with any args, any JSON, any bytes), headers (Host,
Origin, Sec-Fetch-Site, Content-Type) and endpoints. Whatever comes in: no 500, no
traceback, every refusal a JSON body with an `error.type`, foreign Hosts and Origins always
403, and no accepted prompt lost (each stays in the queue until it is deleted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphrt.compat.comfy.classes import CLASSES
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import Limits, ServerConfig

from .live import ROOT
from .local import local_client
from .workflows import txt2img

GRAPHS = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "graphs").glob("*.json"))}
LOCAL_HOSTS = ["127.0.0.1", "127.0.0.1:8188", "localhost:8188", "[::1]:8188"]
FOREIGN_HOSTS = ["evil.example", "evil.example:8188", "127.0.0.1.nip.io", "10.1.2.3:8188"]
SAME_ORIGINS = [None, "same"]  # "same": http://<the Host>
FOREIGN_ORIGINS = ["http://evil.example", "null", "https://127.0.0.1.evil.example",
                   "http://localhost:3000"]

leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**400, 10**400),
                   st.floats(), st.text(max_size=30),
                   st.sampled_from(["../../etc/passwd", "toy-shapes", "euler", "karras",
                                    "example.png", "x" * 300, "\x00", "/abs/path.png"]))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                      max_leaves=12)
link = st.tuples(st.sampled_from(list(txt2img()) + ["99", "x"]), st.integers(-1, 4)).map(list)


@st.composite
def comfy_prompts(draw: st.DrawFn) -> Any:
    prompt = txt2img()
    for _ in range(draw(st.integers(0, 3))):
        node = draw(st.sampled_from(sorted(prompt)))
        action = draw(st.sampled_from(["value", "link", "drop", "add", "class"]))
        inputs = prompt[node]["inputs"]
        if action == "value" and inputs:
            inputs[draw(st.sampled_from(sorted(inputs)))] = draw(values)
        elif action == "link" and inputs:
            inputs[draw(st.sampled_from(sorted(inputs)))] = draw(link)
        elif action == "drop" and len(prompt) > 1:
            del prompt[node]
        elif action == "add":
            prompt[draw(st.text(min_size=1, max_size=6))] = {
                "class_type": draw(st.sampled_from(sorted(CLASSES))),
                "inputs": draw(st.dictionaries(st.text(max_size=12), values | link,
                                               max_size=4))}
        elif action == "class":
            prompt[node]["class_type"] = draw(st.text(max_size=20) | st.sampled_from(
                sorted(CLASSES)))
    return prompt


@st.composite
def native_bodies(draw: st.DrawFn) -> Any:
    doc = GRAPHS[draw(st.sampled_from(sorted(GRAPHS)))]
    names = sorted(doc.get("args", {})) + ["nope"]
    args = draw(st.dictionaries(st.sampled_from(names), values, max_size=3))
    return {"prompt": doc, "args": args}


BODIES = [comfy_prompts().map(lambda p: {"prompt": p, "client_id": "fuzz"})] * 5 + [
    native_bodies()] * 2 + [st.fixed_dictionaries({"prompt": values}, optional={
        "client_id": values, "extra_data": values, "prompt_id": values, "args": values})] * 2 + [
    values]
bodies = st.integers(0, len(BODIES) - 1).flatmap(lambda i: BODIES[i])
requests = st.fixed_dictionaries({
    "endpoint": st.sampled_from(["/prompt"] * 5 + ["/graphrt/validate", "/queue", "/history",
                                                   "/interrupt", "GET /history"]),
    "body": bodies,
    "raw": st.tuples(st.integers(0, 9), st.binary(max_size=64)).map(  # raw bytes, 1 in 10
        lambda t: t[1] if t[0] == 9 else None),
    "host": st.sampled_from(LOCAL_HOSTS * 3 + FOREIGN_HOSTS),
    "origin": st.sampled_from(SAME_ORIGINS * 3 + FOREIGN_ORIGINS),
    "site": st.sampled_from([None, None, "same-origin", "cross-site", "none"]),
    "content_type": st.sampled_from(["application/json", "text/plain", None,
                                     "multipart/form-data; boundary=x"]),
    "query": st.text(alphabet="0123456789-ax=&", max_size=12)})


def test_the_server_survives_any_request(tmp_path: Path) -> None:
    config = ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                          input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                          device="cpu", limits=Limits(max_queue=10_000))
    client = local_client(create_app(config))
    accepted: set[str] = set()

    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests)
    def one(case: dict[str, Any]) -> None:
        headers = {"host": case["host"]}
        for name, key in (("origin", "origin"), ("sec-fetch-site", "site"),
                          ("content-type", "content_type")):
            if case[key] is not None:
                headers[name] = case[key]
        if case["origin"] == "same":
            headers["origin"] = f"http://{case['host']}"
        endpoint = case["endpoint"]
        if endpoint == "GET /history":
            response = client.get(f"/history?{case['query']}", headers=headers)
        else:
            content = case["raw"] if case["raw"] is not None else json.dumps(
                case["body"]).encode()
            response = client.post(endpoint, content=content, headers=headers)
        text = response.text
        assert response.status_code < 500, text[:500]
        assert "Traceback (most recent call last)" not in text
        foreign_host = case["host"] in FOREIGN_HOSTS
        foreign = foreign_host or case["origin"] in FOREIGN_ORIGINS or (
            case["origin"] is None and case["site"] == "cross-site")
        if foreign:
            assert response.status_code == 403, (case, text[:300])
            return
        assert response.status_code != 403, text[:300]
        if response.status_code >= 400:
            assert isinstance(response.json()["error"]["type"], str)
        body = case["body"] if case["raw"] is None else None
        if endpoint == "/prompt" and response.status_code == 200:
            accepted.add(response.json()["prompt_id"])
        elif endpoint == "/queue" and response.status_code == 200 and isinstance(body, dict):
            if body.get("clear"):
                accepted.clear()
            if isinstance(body.get("delete"), list):
                accepted.difference_update(str(i) for i in body["delete"])
        pending = {item[1] for item in client.get("/queue").json()["queue_pending"]}
        assert accepted <= pending, "an accepted prompt was lost"

    one()
    assert accepted, "no example was accepted: the strategies test nothing useful"
