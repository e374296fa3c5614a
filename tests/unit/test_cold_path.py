"""The edit path's shortcuts around pydantic give what pydantic gives (docs/performance.md):
document shells built without validation, and params data read from plain models."""

import math
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, computed_field

from graphrt import InvalidGraph
from graphrt.core.document import GraphDoc, load_graph, parse_document
from graphrt.core.hashing import encode
from graphrt.core.node_doc import plain_nodes
from graphrt.core.params_data import params_data
from graphrt.library import default_registry

NODES = {"a": {"op": "test.const", "params": {"value": 1}},
         "b": {"op": "test.add", "in": {"a": "a.out"}}}
PLAIN_SHELLS = [
    {"nodes": NODES},
    {"nodes": NODES, "outputs": {"x": "b.out"}},
    {"format": "graphrt/1", "description": "d", "nodes": NODES, "outputs": {"x": "b.out"},
     "args": {}, "inputs": {}, "skip_invalid_outputs": True},
]
OTHER_SHELLS = [  # valid, but taken by pydantic
    {"nodes": NODES, "args": {"seed": {"type": "int", "default": 1}}},
    {"nodes": NODES, "inputs": {"x": {"type": "FLOAT"}}},
    {"nodes": NODES, "description": type("S", (str,), {})("d")},
]
BROKEN_SHELLS = [
    {"nodes": NODES, "format": "graphrt/2"}, {"nodes": NODES, "outputs": {"x": 3}},
    {"nodes": NODES, "outputs": ["b.out"]}, {"nodes": NODES, "extra": 1},
    {"nodes": NODES, "skip_invalid_outputs": 1.5}, {"nodes": NODES, "description": 3},
]


def validated(data: dict[str, Any]) -> GraphDoc:
    nodes = plain_nodes(data["nodes"])
    return GraphDoc.model_validate({**data, "nodes": {}}).model_copy(update={"nodes": nodes})


@pytest.mark.parametrize("data", PLAIN_SHELLS + OTHER_SHELLS)
def test_documents_equal_what_pydantic_builds(data: dict[str, Any]) -> None:
    doc, issues = parse_document(data)
    want = validated(data)
    assert not issues and doc == want
    assert doc.model_fields_set == want.model_fields_set
    assert doc.dump() == want.dump() and doc.model_dump() == want.model_dump()


@pytest.mark.parametrize("data", BROKEN_SHELLS)
def test_broken_shells_are_still_reported(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidGraph) as err:
        load_graph(data)
    assert err.value.issues and all(i.node is None for i in err.value.issues)


def test_a_built_shell_owns_its_outputs() -> None:
    data = {"nodes": NODES, "outputs": {"x": "b.out"}}
    doc = load_graph(data)
    data["outputs"]["x"] = "a.out"
    assert doc.outputs == {"x": "b.out"}


def test_params_data_equals_the_json_dump_for_every_library_op() -> None:
    checked = 0
    for spec in default_registry().by_name.values():
        try:
            params = spec.params()
        except ValueError:  # required params: no default instance
            continue
        assert encode(params_data(params)) == encode(params.model_dump(mode="json")), spec.name
        checked += 1
    assert checked > 50


class Plain(BaseModel):
    model_config = ConfigDict(frozen=True)
    f: float = 1.0
    i: int = 2
    s: str = "x"
    b: bool = False
    n: int | None = None


class Serialized(BaseModel):
    x: Annotated[int, PlainSerializer(lambda v: v * 2)] | None = 1  # nested in a union


class Excluded(BaseModel):
    x: int = Field(1, exclude=True)
    y: int = 2


class Computed(BaseModel):
    x: int = 1

    @computed_field  # type: ignore[prop-decorator]
    @property
    def double(self) -> int:
        return 2 * self.x


class Nested(BaseModel):
    inner: Plain = Plain()


@pytest.mark.parametrize("params", [
    Plain(), Plain(f=math.inf), Plain(f=-0.0, n=3), Plain(f=math.nan),
    Serialized(x=3), Excluded(), Computed(x=4), Nested(),
])
def test_params_data_falls_back_to_pydantic_where_it_must(params: BaseModel) -> None:
    assert encode(params_data(params)) == encode(params.model_dump(mode="json"))


def test_plain_models_are_read_without_pydantic_and_copied() -> None:
    params = Plain()
    data = params_data(params)
    assert data == params.__dict__ and data is not params.__dict__
    assert params_data(Serialized(x=3)) == {"x": 6}
    assert params_data(Excluded()) == {"y": 2} and params_data(Computed()) == {"x": 1, "double": 2}


def test_to_device_remembers_only_types_it_never_moves() -> None:
    from typing import NamedTuple

    import torch

    from graphrt.core import values

    class Model:
        weight = torch.zeros(2)

    class Pair(NamedTuple):
        a: torch.Tensor
        b: torch.Tensor

    t = torch.ones(3)
    model, pair = Model(), Pair(t, t)
    nested = {"x": [t, (t, model)], "p": pair}
    for _ in range(2):  # the second time from what the first remembered
        assert values.to_device(model, "cpu") is model
        assert values.to_device(pair, "cpu") is pair and values.to_device(nested, "cpu") is nested
        moved = values.to_device(nested, "meta")
        assert moved is not nested and moved["x"][0].device.type == "meta"
        assert moved["x"][1][1] is model and moved["p"] is pair  # never walked into
        assert values.to_device(t, "meta").device.type == "meta"
    assert {Model, Pair} <= values._UNMOVED and type(t) not in values._UNMOVED
    assert not values._UNMOVED & {dict, list, tuple}
