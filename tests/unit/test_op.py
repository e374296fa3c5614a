from typing import NamedTuple

import pytest
from pydantic import BaseModel, ConfigDict

from graphrt import NoParams, op
from graphrt.core.errors import OpDefinitionError
from graphrt.core.op import spec_of
from graphrt.core.types import FLOAT, Float
from tests.fakeops import Tensors as Latent


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    x: int = 1


class Mutable(BaseModel):
    x: int = 1


def test_spec_from_signature() -> None:
    class Two(NamedTuple):
        a: Float
        b: Latent

    @op("fam.verb", version=3)
    def f(p: Frozen, x: Float, y: Latent | None = None, *rest: Float) -> Two:
        return Two(1.0, {})

    spec = spec_of(f)
    assert spec.name == "fam.verb" and spec.version == 3
    assert [(p.name, p.type.name, p.optional, p.variadic) for p in spec.inputs] == [
        ("x", "FLOAT", False, False), ("y", "TENSORS", True, False), ("rest", "FLOAT", True, True)]
    assert [p.name for p in spec.outputs] == ["a", "b"]
    assert spec.outputs_of(Two(2.0, {"s": 1})) == {"a": 2.0, "b": {"s": 1}}


@pytest.mark.parametrize("bad", ["noverb", "Fam.verb", "fam.", "fam verb", "1fam.x"])
def test_bad_names_fail_at_definition(bad: str) -> None:
    with pytest.raises(OpDefinitionError, match="name"):
        op(bad)(lambda p: 1.0)


def test_params_must_be_frozen_model() -> None:
    with pytest.raises(OpDefinitionError, match="frozen"):
        @op("fam.mutable")
        def f(p: Mutable) -> Float:
            return 1.0

    with pytest.raises(OpDefinitionError, match="BaseModel"):
        @op("fam.noparams")
        def g(p: int) -> Float:
            return 1.0


def test_ports_need_port_types() -> None:
    with pytest.raises(OpDefinitionError, match="input 'x'"):
        @op("fam.untyped")
        def f(p: NoParams, x: float) -> Float:
            return x

    with pytest.raises(OpDefinitionError, match="return annotation"):
        @op("fam.noreturn")
        def g(p: NoParams) -> float:
            return 1.0


def test_unknown_keyword_only_and_version() -> None:
    with pytest.raises(OpDefinitionError, match="keyword-only"):
        @op("fam.kw")
        def f(p: NoParams, *, device: str = "cpu") -> Float:
            return 1.0

    with pytest.raises(OpDefinitionError, match="version"):
        op("fam.v", version=0)(lambda p: 1.0)


def test_int_feeds_float_but_not_the_reverse() -> None:
    from graphrt.core.types import INT

    assert FLOAT.accepts(INT) and not INT.accepts(FLOAT)
