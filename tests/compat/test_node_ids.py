"""Node ids as ComfyUI clients write them ("CheckpointLoaderSimple.0", "4:1", "my node")
work in every format, and errors and messages name them as the client wrote them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from graphrt import InvalidGraph, Runtime
from tests.server.workflows import txt2img

RENAME = {"4": "CheckpointLoaderSimple.0", "3": "4:1", "5": "empty latent", "9": "save.png"}


def renamed(prompt: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node_id, node in prompt.items():
        node = copy.deepcopy(node)
        for name, value in node["inputs"].items():
            if isinstance(value, list) and len(value) == 2:
                node["inputs"][name] = [RENAME.get(value[0], value[0]), value[1]]
        out[RENAME.get(node_id, node_id)] = node
    return out


def test_comfyui_ids_run_and_key_like_plain_ones() -> None:
    rt = Runtime(device="cpu")
    plain, odd = rt.plan(txt2img()).plan, rt.plan(renamed(txt2img())).plan
    assert set(odd.order) == {RENAME.get(n, n) for n in plain.order}
    assert sorted(odd.keys.values()) == sorted(plain.keys.values())
    result = rt.run(renamed(txt2img()))
    assert result.ok and set(result.outputs) == {"save.png"}


def test_errors_name_the_clients_ids() -> None:
    prompt = renamed(txt2img())
    prompt["4:1"]["inputs"]["steps"] = 100_000
    with pytest.raises(InvalidGraph) as err:
        Runtime(device="cpu").plan(prompt)
    assert {i.node for i in err.value.issues} == {"4:1"}


def test_native_documents_take_such_ids_and_set_overrides_on_them() -> None:
    doc = {"nodes": {"a.b": {"op": "latent.empty", "params": {"width": 64, "height": 64}},
                     "c d": {"op": "latent.set_noise_mask",
                             "in": {"latent": "a.b.out", "mask": "m:1.out"}},
                     "m:1": {"op": "mask.rect", "params": {"width": 64, "height": 64}}},
           "outputs": {"x": "c d.out"}}
    rt = Runtime(device="cpu")
    out = rt.run(doc, overrides={"a.b.width": 128}).outputs["x"]
    assert tuple(out["samples"].shape) == (1, 4, 8, 16)


@pytest.mark.parametrize("bad", ["a/b", "$x", "", "tab\there", "x" * 300])
def test_ids_that_would_be_ambiguous_are_refused(bad: str) -> None:
    with pytest.raises(InvalidGraph) as err:
        Runtime(device="cpu").plan({"nodes": {bad: {"op": "latent.empty"}},
                                    "outputs": {"x": f"{bad}.out"}})
    assert any(i.code == "invalid_node_id" for i in err.value.issues)
