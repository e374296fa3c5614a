"""Must-shows 1, 2, 3, 5 and 8 against a real `graphrt serve` on 127.0.0.1.

A ComfyUI client's round trip (POST /prompt, /ws until executing null, /history, /view),
the cached rerun, invalid prompts, interrupt, and the native graphs in graphs/.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from .live import ROOT, Client, Live, serving, watch
from .workflows import txt2img

GRAPHS = sorted((ROOT / "graphs").glob("*.json"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with serving(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture
def client(live: Live) -> Iterator[Client]:
    c = Client(live.url)
    yield c
    c.close()


def types(messages: list[dict]) -> list[str]:
    return [m["type"] for m in messages]


def test_1_comfy_txt2img_round_trip_returns_a_png(client: Client) -> None:
    prompt_id, messages = client.run(txt2img(seed=11))
    kinds = types(messages)
    assert kinds[0] == "execution_start" and "execution_success" in kinds
    assert kinds.index("execution_success") < len(kinds) - 1  # executing null comes last
    assert {m["data"]["node"] for m in messages if m["type"] == "executing"} >= \
        {"3", "4", "8", "9", None}
    steps = [m["data"] for m in messages if m["type"] == "progress"]
    assert [s["value"] for s in steps] == [1, 2, 3] and steps[0]["node"] == "3"
    executed = next(m["data"] for m in messages if m["type"] == "executed")
    assert executed["node"] == "9"
    history = client.http.get(f"/history/{prompt_id}").json()[prompt_id]
    assert history["status"]["completed"] is True
    image = history["outputs"]["9"]["images"][0]
    assert image == executed["output"]["images"][0] and image["type"] == "output"
    view = client.http.get("/view", params=image)
    assert view.status_code == 200 and view.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(view.content)) as png:
        assert png.format == "PNG" and png.size == (64, 64)


def test_2_same_workflow_again_is_all_cached(client: Client) -> None:
    first_id, _ = client.run(txt2img(seed=12))
    prompt_id, messages = client.run(txt2img(seed=12))
    cached = next(m["data"]["nodes"] for m in messages if m["type"] == "execution_cached")
    assert sorted(cached) == sorted(txt2img())
    assert "progress" not in types(messages)
    assert [m["data"]["node"] for m in messages if m["type"] == "executing"] == [None]
    history = client.http.get(f"/history/{prompt_id}").json()[prompt_id]
    assert history["graphrt"]["stats"]["model_calls"] == 0
    assert history["graphrt"]["executed"] == []
    first = client.http.get(f"/history/{first_id}").json()[first_id]
    assert history["outputs"] == first["outputs"]  # the same file, served from the cache


def _rejected(client: Client, prompt: dict) -> dict:
    response = client.submit(prompt)
    assert response.status_code == 400, response.text
    return response.json()


def test_3_invalid_prompts_get_comfy_node_errors(client: Client) -> None:
    unknown = txt2img()
    unknown["7"]["class_type"] = "CLIPTextEncodeFancy"
    body = _rejected(client, unknown)
    assert body["error"]["type"] == "invalid_prompt"
    assert body["node_errors"]["7"]["class_type"] == "CLIPTextEncodeFancy"
    assert body["node_errors"]["7"]["errors"][0]["extra_info"]["input_name"] == "class_type"

    bad_link = txt2img()
    bad_link["8"]["inputs"]["samples"] = ["3", 4]
    errors = _rejected(client, bad_link)["node_errors"]["8"]
    assert errors["errors"][0]["type"] == "bad_linked_input"
    assert errors["dependent_outputs"] == ["9"] and errors["class_type"] == "VAEDecode"

    out_of_range = txt2img()
    out_of_range["3"]["inputs"].update(cfg=500.0, sampler_name="euler_magic")
    body = _rejected(client, out_of_range)
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    found = {(e["extra_info"]["input_name"], e["type"])
             for e in body["node_errors"]["3"]["errors"]}
    assert found == {("cfg", "value_bigger_than_max"), ("sampler_name", "value_not_in_list")}

    assert client.http.post("/prompt", content=b"{not json").status_code == 400
    assert client.http.post("/prompt", json={"client_id": "x"}).status_code == 400
    assert client.http.get("/queue").status_code == 200
    _, messages = client.run(txt2img(seed=13, steps=2))  # still serving
    assert "execution_success" in types(messages)


def test_5_interrupt_during_sampling_then_the_next_prompt_runs(client: Client) -> None:
    with client.socket() as ws:
        response = client.submit(txt2img(seed=14, steps=1000))
        prompt_id = response.json()["prompt_id"]
        watch(ws, prompt_id, until=lambda m: m["type"] == "progress")
        assert client.http.post("/interrupt").status_code == 200
        messages = watch(ws, prompt_id, timeout=60)
    kinds = types(messages)
    assert "execution_interrupted" in kinds and "execution_success" not in kinds
    stopped = next(m["data"] for m in messages if m["type"] == "execution_interrupted")
    assert stopped["node_id"] == "3" and stopped["node_type"] == "KSampler"
    history = client.http.get(f"/history/{prompt_id}").json()[prompt_id]
    assert history["status"]["completed"] is False
    assert history["graphrt"]["state"] == "interrupted"
    _, messages = client.run(txt2img(seed=15, steps=2))
    assert "execution_success" in types(messages)


def _small_args(doc: dict) -> dict:
    wanted = {"steps": 8, "width": 64, "height": 64, "scaled_width": 64, "scaled_height": 64}
    return {k: v for k, v in wanted.items() if k in doc.get("args", {})}


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.stem)
def test_8_native_graphs_run_through_the_server(client: Client, path: Path) -> None:
    doc = json.loads(path.read_text())
    prompt_id, messages = client.run(doc, args=_small_args(doc))
    assert "execution_success" in types(messages), messages[-3:]
    history = client.http.get(f"/history/{prompt_id}").json()[prompt_id]
    images = [i for out in history["outputs"].values() for i in out["images"]]
    assert images
    for image in images:
        assert client.http.get("/view", params=image).content[:4] == b"\x89PNG"
