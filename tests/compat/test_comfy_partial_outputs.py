"""ComfyUI prompts skip the outputs that fail validation, as ComfyUI does: the translation
marks the document `skip_invalid_outputs` and hands back the problems of a node's inputs as
issues of that node; only an unknown class_type (or no output at all) refuses the prompt."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from graphrt import Runtime
from graphrt.compat.comfy.node_errors import dropped_node_errors
from graphrt.compat.comfy.translate import translate
from graphrt.core.errors import Code, InvalidGraph
from tests.server.workflows import TXT2IMG


def two_outputs(**second: Any) -> dict[str, Any]:
    """txt2img saving twice: "9" as usual, "19" through a second decode "18" (changed by
    `second`: node id → a whole node, or changes of its inputs)."""
    prompt = copy.deepcopy(TXT2IMG)
    prompt["18"] = {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}
    prompt["19"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "second",
                                                          "images": ["18", 0]}}
    for node, change in second.items():
        if "class_type" in change:
            prompt[node] = change
        else:
            prompt[node]["inputs"].update(change)
    return prompt


CASES = {  # what breaks output 19 → the node and code of its issue
    "link to a missing node": ({"18": {"samples": ["99", 0]}}, "18", Code.UNKNOWN_NODE),
    "output index out of range": ({"18": {"samples": ["3", 4]}}, "18", Code.BAD_LINK),
    "not a link": ({"18": {"samples": "3"}}, "18", Code.BAD_LINK),
    "link into a widget": ({"19": {"filename_prefix": ["4", 0]}}, "19", Code.LINK_TO_WIDGET),
    "inputs not an object": ({"19": {"class_type": "SaveImage", "inputs": 5}}, "19",
                             Code.INVALID_NODE),
    "unconnected input": ({"19": {"class_type": "SaveImage", "inputs": {}}}, "19",
                          Code.MISSING_INPUT),
    "value out of range": ({"13": {**TXT2IMG["3"], "inputs": {**TXT2IMG["3"]["inputs"],
                                                              "steps": -5}},
                            "18": {"samples": ["13", 0]}}, "13", Code.PARAM_BELOW_MIN),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_broken_output_is_dropped_and_the_other_kept(case: str) -> None:
    change, node, code = CASES[case]
    plan = Runtime(device="cpu").prepare(two_outputs(**change))
    assert list(plan.outputs) == ["9"] and list(plan.dropped_outputs) == ["19"]
    assert (node, code) in {(i.source or i.node, i.code) for i in plan.dropped_outputs["19"]}


def test_node_problems_come_back_with_the_document() -> None:
    native, issues = translate(two_outputs(**{"18": {"samples": ["99", 0]}}))
    assert native is not None and native["skip_invalid_outputs"] is True
    assert [(i.node, i.field, i.code) for i in issues] == [("18", "samples",
                                                            Code.UNKNOWN_NODE)]
    assert set(native["outputs"]) == {"9", "19"}


def test_an_unknown_class_anywhere_refuses_the_prompt() -> None:
    prompt = two_outputs(**{"18": {"samples": ["99", 0]}})
    prompt["50"] = {"class_type": "NoSuchNode", "inputs": {}}  # feeds no output
    native, issues = translate(prompt)
    assert native is None and {i.code for i in issues} == {Code.UNKNOWN_CLASS,
                                                           Code.UNKNOWN_NODE}
    with pytest.raises(InvalidGraph):
        Runtime(device="cpu").prepare(prompt)


def test_every_output_broken_refuses_the_prompt() -> None:
    prompt = two_outputs(**{"18": {"samples": ["99", 0]}})
    prompt["8"]["inputs"]["vae"] = ["4", 9]
    with pytest.raises(InvalidGraph) as refused:
        Runtime(device="cpu").prepare(prompt)
    assert {i.node for i in refused.value.issues} == {"8", "18"}


def test_nodes_no_output_needs_are_never_validated() -> None:
    prompt = two_outputs(**{"30": {"class_type": "VAEDecode",
                                   "inputs": {"samples": ["99", 0]}}})
    plan = Runtime(device="cpu").prepare(prompt)
    assert plan.dropped_outputs == {} and "30" not in plan.order


def test_the_dropped_outputs_node_errors_are_comfyuis() -> None:
    prompt = two_outputs(**CASES["value out of range"][0])
    plan = Runtime(device="cpu").prepare(prompt)
    class_types = {k: v["class_type"] for k, v in prompt.items()}
    errors = dropped_node_errors(plan.dropped_outputs, prompt, class_types, True)
    assert list(errors) == ["13"]
    assert errors["13"]["class_type"] == "KSampler"
    assert errors["13"]["dependent_outputs"] == ["19"]
    (error,) = errors["13"]["errors"]
    assert error["type"] == "value_smaller_than_min"
    assert error["extra_info"]["input_name"] == "steps"
