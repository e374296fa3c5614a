"""POST /prompt with a ComfyUI prompt whose outputs partly fail validation answers as ComfyUI
does: 200 with `prompt_id`, `number` and the failed outputs' `node_errors`; the other
outputs run. Only a prompt with no valid output is refused (prompt_outputs_failed_validation).
Every request goes to the in-process app as 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphrt.fronts.server.app import create_app

from .local import finished, local_client, local_config
from .workflows import txt2img


def prompt_with_a_broken_output() -> dict[str, Any]:
    """txt2img saving through "9", and a second SaveImage "19" whose decode "18" takes its
    samples from a node that is not in the prompt."""
    prompt = txt2img(steps=2)
    prompt["18"] = {"class_type": "VAEDecode", "inputs": {"samples": ["99", 0],
                                                          "vae": ["4", 2]}}
    prompt["19"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "second",
                                                          "images": ["18", 0]}}
    return prompt




def test_a_prompt_with_a_broken_output_is_queued_with_its_node_errors(tmp_path: Path) -> None:
    with local_client(create_app(local_config(tmp_path))) as client:
        response = client.post("/prompt", json={"prompt": prompt_with_a_broken_output()})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"prompt_id", "number", "node_errors"}
        assert list(body["node_errors"]) == ["18"]
        entry = body["node_errors"]["18"]
        assert entry["class_type"] == "VAEDecode" and entry["dependent_outputs"] == ["19"]
        (error,) = entry["errors"]
        assert error["type"] == "bad_linked_input"
        assert error["extra_info"]["input_name"] == "samples"
        done = finished(client, body["prompt_id"])
    assert done["status"]["status_str"] == "success", done
    assert list(done["outputs"]) == ["9"]
    assert done["prompt"][4] == ["9"]  # the outputs it ran, as ComfyUI's queue lists them
    assert done["graphrt"]["dropped_outputs"] == ["19"]


def test_a_prompt_whose_every_output_fails_is_refused(tmp_path: Path) -> None:
    prompt = prompt_with_a_broken_output()
    prompt["8"]["inputs"]["vae"] = ["4", 9]  # the first output's decode, broken too
    client = local_client(create_app(local_config(tmp_path)))
    response = client.post("/prompt", json={"prompt": prompt})
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert set(body["node_errors"]) == {"8", "18"}
    assert client.get("/queue").json()["queue_pending"] == []


def test_an_unsafe_file_on_one_output_drops_only_that_output(tmp_path: Path) -> None:
    """The server's own checks (files confined to their folders) drop outputs too."""
    prompt = txt2img(steps=2)
    prompt["20"] = {"class_type": "LoadImage", "inputs": {"image": "../../secret.png"}}
    prompt["21"] = {"class_type": "PreviewImage", "inputs": {"images": ["20", 0]}}
    client = local_client(create_app(local_config(tmp_path)))
    response = client.post("/graphrt/validate", json={"prompt": prompt})
    assert response.status_code == 200 and list(response.json()["dropped_outputs"]) == ["21"]
    response = client.post("/prompt", json={"prompt": prompt})
    assert response.status_code == 200, response.text
    errors = response.json()["node_errors"]
    assert list(errors) == ["20"] and errors["20"]["dependent_outputs"] == ["21"]
    assert errors["20"]["errors"][0]["type"] == "value_not_in_list"
    assert str(tmp_path) not in response.text


def test_a_sound_prompt_has_no_node_errors(tmp_path: Path) -> None:
    client = local_client(create_app(local_config(tmp_path)))
    response = client.post("/prompt", json={"prompt": txt2img(steps=2)})
    assert response.status_code == 200 and response.json()["node_errors"] == {}
