"""The server works from what ops declare: a plug-in op pack's file-reading op is confined
to its folder and held to the limits without any server change; and a prompt is planned
once, at submission, the worker running the plan it was handed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from graphrt import Cost, FileParam, OpContext, Params, Registry, Runtime, op
from graphrt.core.types import String
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import Limits, ServerConfig
from graphrt.library import default_registry

from .local import finished, local_client
from .workflows import txt2img


class ReadNote(Params):
    name: str = Field(min_length=1, max_length=255)
    width: int = Field(64, ge=1, le=100_000)
    height: int = Field(64, ge=1, le=100_000)


@op("plugin.read_note", files=(FileParam("name", "input", suffixes=(".txt",)),),
    cost=lambda p: Cost(pixels=p.width * p.height))
def read_note(p: ReadNote, *, ctx: OpContext) -> String:
    """A plug-in op that reads a text file from the input folder."""
    return ctx.folders.file("input", p.name).read_text()


def app(tmp_path: Path, **limits: int) -> Any:
    config = ServerConfig(state_dir=tmp_path / "state", output_dir=tmp_path / "out",
                          input_dir=tmp_path / "in", models_dir=tmp_path / "models",
                          device="cpu", limits=Limits(**limits))
    runtime = Runtime(registry=Registry([*default_registry(), read_note]), device="cpu",
                      input_dir=config.input_dir, output_dir=config.output_dir,
                      models_dir=config.models_dir)
    return create_app(config, runtime=runtime)


def note(name: str, size: int = 64) -> dict[str, Any]:
    return {"prompt": {"nodes": {"n": {"op": "plugin.read_note",
                                       "params": {"name": name, "width": size,
                                                  "height": size}}},
                       "outputs": {"text": "n.out"}}}


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/passwd", "a/../../b.txt",
                                  "..\\..\\win.txt", "x\x00.txt", "C:/boot.txt"])
def test_a_plugin_file_param_is_confined_to_its_folder(tmp_path: Path, name: str) -> None:
    client = local_client(app(tmp_path))
    response = client.post("/prompt", json=note(name))
    assert response.status_code == 400, name
    (error,) = response.json()["node_errors"]["n"]["errors"]
    assert error["extra_info"]["code"] == "unsafe_path"
    assert error["extra_info"]["input_name"] == "params.name"
    assert client.get("/queue").json()["queue_pending"] == []


def test_a_plugin_cost_is_held_to_the_limits(tmp_path: Path) -> None:
    client = local_client(app(tmp_path, max_pixels=128 * 128))
    response = client.post("/prompt", json=note("ok.txt", size=4096))
    assert response.status_code == 400
    (error,) = response.json()["node_errors"]["n"]["errors"]
    assert error["extra_info"]["code"] == "limit_exceeded" and "16384" in error["message"]
    assert client.post("/prompt", json=note("ok.txt", size=64)).status_code == 200


def test_a_plugin_op_runs_and_reads_inside_its_folder(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ok.txt").write_text("hello")
    with local_client(app(tmp_path)) as client:
        prompt_id = client.post("/prompt", json=note("ok.txt")).json()["prompt_id"]
        entry = finished(client, prompt_id)
    assert entry["status"]["status_str"] == "success", entry


def test_a_prompt_is_planned_exactly_once(tmp_path: Path, plans_made: list[int]) -> None:
    with local_client(app(tmp_path)) as client:
        prompt_id = client.post("/prompt", json={"prompt": txt2img()}).json()["prompt_id"]
        entry = finished(client, prompt_id)
    assert entry["status"]["status_str"] == "success", entry
    assert len(plans_made) == 1


