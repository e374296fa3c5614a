"""Breaks 2 and 6: cost limits hold before the work is done. Expansion is bounded as it runs
(nodes in all and per node, predicted model calls, time), so a 47 KB document inside every
per-node limit is refused after building at most the budget, in seconds; planning stops on
/interrupt and on queue deletion; an input image is measured from its header and refused
over the pixel limit before anything decodes it; a prompt recovered after a restart is
planned within the same limits."""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile
from pydantic import Field

import graphrt.core.expand as expand_module
from graphrt import Builder, InvalidGraph, Params, Ref, Registry, Runtime, macro
from graphrt.core.document import load_graph
from graphrt.core.errors import Cancelled, Code, Issue
from graphrt.core.expand import Budget, expand
from graphrt.core.validate import validate
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import Limits, ServerConfig
from graphrt.fronts.server.queue import PromptQueue
from graphrt.library import default_registry
from graphrt.ops.types import Latent

from .live import ROOT
from .local import local_client


class Slow(Params):
    count: int = Field(3000, ge=1, le=100_000)
    delay_ms: int = Field(0, ge=0, le=100)


@macro("test.slow")
def slow(p: Slow, g: Builder) -> Ref[Latent]:
    """Adds `count` small nodes, one every `delay_ms`."""
    out = None
    for i in range(p.count):
        time.sleep(p.delay_ms / 1000)
        out = g.add("latent.empty", {"width": 64, "height": 64}, id=f"e{i}").out
    assert out is not None
    return out


@macro("test.stubborn")
def stubborn(p: Slow, g: Builder) -> Ref[Latent]:
    """Like test.slow, but ignores a refusal and goes on adding nodes."""
    out = g.add("latent.empty", {"width": 64, "height": 64}, id="first").out
    for i in range(p.count):
        try:
            out = g.add("latent.empty", {"width": 64, "height": 64}, id=f"e{i}").out
        except Exception:  # the point of this macro: it ignores the refusal
            continue
    return out


REGISTRY = Registry([*default_registry(), slow, stubborn])


def slow_doc(count: int = 3000, delay_ms: int = 0) -> dict[str, Any]:
    return {"nodes": {"s": {"op": "test.slow", "params": {"count": count,
                                                          "delay_ms": delay_ms}}},
            "outputs": {"out": "s.out"}}


def config(tmp_path: Path, **limits: Any) -> ServerConfig:
    return ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                        input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                        device="cpu", limits=Limits(**limits))


def app(tmp_path: Path, **limits: Any) -> Any:
    cfg = config(tmp_path, **limits)
    runtime = Runtime(registry=REGISTRY, device="cpu", input_dir=cfg.input_dir,
                      output_dir=cfg.output_dir, models_dir=cfg.models_dir)
    return create_app(cfg, runtime=runtime)


def bomb() -> dict[str, Any]:
    """A 47 KB native document inside every per-node limit: 140-odd masked pairs of 1000
    steps each, which unroll to about 3000 nodes apiece."""
    doc = json.loads((ROOT / "graphs" / "two_samplers_for_mask.json").read_text())
    nodes = doc["nodes"]
    pair = nodes.pop("pair")
    del nodes["decode"], nodes["save"]
    doc["outputs"] = {}
    i = 0
    while len(json.dumps(doc)) < 47_000:
        nodes[f"p{i}"] = {**copy.deepcopy(pair),
                          "params": {"seed": i, "steps": 1000, "denoise": 1.0}}
        nodes[f"d{i}"] = {"op": "latent.decode", "in": {"vae": "ckpt.vae", "latent": f"p{i}.out"}}
        doc["outputs"][f"o{i}"] = f"d{i}.out"
        i += 1
    return doc


def test_a_47_kb_expansion_bomb_is_refused_while_it_expands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = [0]
    real = expand_module.check_node

    def counting(*args: Any, **kwargs: Any) -> Any:
        built[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(expand_module, "check_node", counting)
    client = local_client(create_app(config(tmp_path)))
    document = bomb()
    assert 46_000 < len(json.dumps(document)) < 48_000
    start = time.monotonic()
    response = client.post("/prompt", json={"prompt": document})
    elapsed = time.monotonic() - start
    assert response.status_code == 400, response.text[:300]
    (entry,) = response.json()["node_errors"].values()
    assert entry["errors"][0]["extra_info"]["code"] in ("too_large", "limit_exceeded")
    assert built[0] <= Limits().max_expanded_nodes + 1  # stopped at the budget, not after
    assert elapsed < 20, elapsed
    assert client.get("/queue").json()["queue_pending"] == []


@pytest.mark.parametrize(("limits", "code", "found"), [
    ({"max_expanded_nodes": 150}, "too_large", "in all"),
    ({"max_expansion_per_node": 100}, "too_large", "from node 'regional'"),
    ({"max_model_calls": 30}, "limit_exceeded", "model calls")])
def test_each_budget_limit_names_the_document_node(tmp_path: Path, limits: dict[str, int],
                                                   code: str, found: str) -> None:
    client = local_client(create_app(config(tmp_path, **limits)))
    doc = json.loads((ROOT / "graphs" / "regional_sampler.json").read_text())
    response = client.post("/prompt", json={"prompt": doc, "args": {"steps": 40}})
    assert response.status_code == 400
    errors = response.json()["node_errors"]["regional"]["errors"]
    assert errors[0]["extra_info"]["code"] == code and found in errors[0]["message"]
    ok = client.post("/prompt", json={"prompt": doc, "args": {"steps": 2}})
    assert ok.status_code == 200, ok.text


def _graph(doc: dict[str, Any]) -> Any:
    return validate(load_graph(doc), REGISTRY)


def test_the_core_budget_is_checked_at_every_node() -> None:
    graph = _graph(slow_doc(count=1000))
    with pytest.raises(InvalidGraph) as err:
        expand(graph, REGISTRY, budget=Budget(max_nodes=100))
    assert err.value.issues[0].code is Code.TOO_LARGE
    seen: list[str] = []

    def admit(node: Any) -> list[Issue]:
        seen.append(node.id)
        if len(seen) == 50:
            return [Issue(code=Code.LIMIT_EXCEEDED, node=node.id, message="enough")]
        return []

    with pytest.raises(InvalidGraph) as err:
        expand(graph, REGISTRY, budget=Budget(admit=admit))
    assert len(seen) == 50 and seen[0] == "s" and seen[1] == "s/e0"
    (issue,) = err.value.issues
    assert issue.source == "s" and "expansion of 's'" in issue.message
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        expand(graph, REGISTRY, cancel=cancel)
    assert len(expand(graph, REGISTRY, budget=Budget(max_nodes=1001)).nodes) == 1000
    swallowing = _graph({"nodes": {"s": {"op": "test.stubborn", "params": {"count": 1000}}},
                         "outputs": {"out": "s.out"}})
    with pytest.raises(InvalidGraph) as err:
        expand(swallowing, REGISTRY, budget=Budget(max_nodes=100))
    assert err.value.issues[0].code is Code.TOO_LARGE


@pytest.mark.parametrize("stop", [("/interrupt", {}), ("/interrupt", {"prompt_id": "slow1"}),
                                  ("/queue", {"clear": True}),
                                  ("/queue", {"delete": ["slow1"]})],
                         ids=["interrupt", "interrupt-id", "clear", "delete"])
def test_planning_stops_on_interrupt_and_queue_deletion(tmp_path: Path,
                                                        stop: tuple[str, dict]) -> None:
    application = app(tmp_path)
    server = application.state.server
    answer: dict[str, Any] = {}
    with local_client(application) as client:
        thread = threading.Thread(target=lambda: answer.update(response=client.post(
            "/prompt", json={"prompt": slow_doc(count=3000, delay_ms=2),
                             "prompt_id": "slow1"})))
        thread.start()
        deadline = time.monotonic() + 10
        while "slow1" not in server.planning:
            assert time.monotonic() < deadline, "planning did not start"
            time.sleep(0.01)
        time.sleep(0.1)
        start = time.monotonic()
        client.post(stop[0], json=stop[1])
        thread.join(15)
        took = time.monotonic() - start
        response = answer["response"]
        assert response.status_code == 409, response.text
        assert response.json()["error"]["type"] == "prompt_cancelled"
        assert took < 2, took  # not the 6 s the whole expansion takes
        assert client.get("/queue").json() == {"queue_running": [], "queue_pending": []}
        assert "slow1" not in server.worker.plans


def big_png(path: Path, side: int = 6000) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (side, side)).save(path, optimize=True)
    return path.stat().st_size


def test_an_input_image_is_measured_and_refused_before_decoding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size = big_png(tmp_path / "in" / "huge.png")
    assert size < 120_000  # small file, 36 megapixels
    (tmp_path / "in" / "huge.png").with_name("ok.png").write_bytes(
        (ROOT / "graphs" / "input" / "example.png").read_bytes())

    def no_decoding(self: Any) -> Any:
        raise AssertionError("an image was decoded while checking a prompt")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    client = local_client(create_app(config(tmp_path)))
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "huge.png"}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}
    response = client.post("/prompt", json={"prompt": prompt})
    assert response.status_code == 400, response.text
    (error,) = response.json()["node_errors"]["1"]["errors"]
    assert error["extra_info"]["code"] == "limit_exceeded"
    assert error["extra_info"]["input_name"] == "image" and "6000 × 6000" in error["message"]
    prompt["1"]["inputs"]["image"] = "ok.png"
    assert client.post("/prompt", json={"prompt": prompt}).status_code == 200
    upload = client.post("/upload/image", files={
        "image": ("huge2.png", (tmp_path / "in" / "huge.png").read_bytes())})
    assert upload.status_code == 400 and upload.json()["error"]["type"] == "image_too_large"
    assert not (tmp_path / "in" / "huge2.png").exists()


def test_a_recovered_prompt_is_planned_within_the_limits(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    queue = PromptQueue(cfg.db_path)
    queue.add("b", {"prompt": bomb(), "args": None, "class_types": {}, "format": "native"},
              None, 10)
    queue.claim()
    queue.close()  # the server died while it ran
    application = create_app(cfg)
    with local_client(application) as client:
        deadline = time.monotonic() + 30
        while "b" not in (history := client.get("/history/b").json()):
            assert time.monotonic() < deadline, "the recovered bomb was not refused"
            time.sleep(0.1)
    entry = history["b"]
    assert entry["status"]["status_str"] == "error"
    assert "nodes" in json.dumps(entry["status"]["messages"])


def test_interrupt_stops_the_worker_planning_a_recovered_prompt(tmp_path: Path) -> None:
    application = app(tmp_path)
    server = application.state.server
    queue = PromptQueue(server.config.db_path)
    queue.add("r", {"prompt": slow_doc(count=3000, delay_ms=2), "args": None,
                    "class_types": {}, "format": "native"}, None, 10)
    queue.claim()
    queue.close()  # the server died while it ran: the next start plans it again
    with local_client(application) as client:
        deadline = time.monotonic() + 10
        while server.worker.current != "r":
            assert time.monotonic() < deadline, "the recovered prompt was not taken"
            time.sleep(0.01)
        time.sleep(0.1)
        start = time.monotonic()
        assert client.post("/interrupt", json={"prompt_id": "r"}).json() == {"interrupted": True}
        while "r" not in (history := client.get("/history/r").json()):
            assert time.monotonic() - start < 5, "planning was not interrupted"
            time.sleep(0.02)
    assert history["r"]["graphrt"]["state"] == "interrupted"
    assert time.monotonic() - start < 3
