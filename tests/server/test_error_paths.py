"""Break 13: what the server sends clients names files relative to their folder ("<models>/
checkpoints/x.safetensors"), never by the server's absolute paths: prompt errors, refused
file names, /graphrt/validate, and the run's own error messages."""

from __future__ import annotations

import json
from pathlib import Path

from graphrt.compat.comfy.node_errors import redact, relative_paths
from graphrt.fronts.server.app import create_app
from graphrt.fronts.server.config import ServerConfig

from .local import local_client
from .workflows import txt2img


def test_error_bodies_do_not_reveal_the_server_folders(tmp_path: Path) -> None:
    base = tmp_path / "secret-layout"
    config = ServerConfig(state_dir=base / "state", output_dir=base / "out",
                          input_dir=base / "in", models_dir=base / "models", device="cpu")
    client = local_client(create_app(config))
    bodies = []
    for name in ("missing.safetensors", "../escape.safetensors", "sub/../../x.safetensors"):
        prompt = txt2img()
        prompt["4"]["inputs"]["ckpt_name"] = name
        response = client.post("/prompt", json={"prompt": prompt})
        assert response.status_code == 400
        bodies.append(response.text)
    native = {"nodes": {"c": {"op": "model.load_checkpoint",
                              "params": {"name": "missing.safetensors"}}},
              "outputs": {"m": "c.model"}}
    bodies.append(client.post("/graphrt/validate", json={"prompt": native}).text)
    bodies.append(client.get("/view", params={"filename": "x.png", "subfolder": "..",
                                              "type": "input"}).text)
    for body in bodies:
        assert str(tmp_path) not in body and "secret-layout" not in body, body
    assert "<models>/checkpoints/missing.safetensors" in bodies[0]
    assert "<models>/checkpoints" in bodies[1]


def test_redaction_names_each_folder() -> None:
    roots = {"models": Path("/srv/gr/models"), "state": Path("/srv/gr")}
    text = "no file /srv/gr/models/checkpoints/a.safetensors (state in /srv/gr/db)"
    assert relative_paths(text, roots) == \
        "no file <models>/checkpoints/a.safetensors (state in <state>/db)"
    body = {"error": {"message": 'cannot read "/srv/gr/models/x"', "list": ["/srv/gr/q"]}}
    assert json.dumps(redact(body, roots)) == \
        '{"error": {"message": "cannot read \\"<models>/x\\"", "list": ["<state>/q"]}}'
