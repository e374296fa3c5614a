import pytest

from graphrt import Registry, op
from graphrt.errors import OpDefinitionError
from graphrt.registry import default_registry
from graphrt.types import Float
from tests.fakeops import FAKE_OPS, Value, const


def test_duplicate_names_are_errors() -> None:
    reg = Registry(FAKE_OPS)

    @op("test.const")
    def other(p: Value) -> Float:
        return 0.0

    with pytest.raises(OpDefinitionError, match="duplicate op name 'test.const'"):
        reg.add(other)
    reg.add(const)  # the same op again is harmless


def test_suggestions_and_listing() -> None:
    reg = Registry(FAKE_OPS)
    assert "test.const" in reg.suggest("test.cnst")
    assert [s.name for s in reg] == sorted(s.name for s in reg)
    assert len(reg) == len(FAKE_OPS)


def test_default_registry_has_the_op_library() -> None:
    reg = default_registry()
    assert len(reg) > 0
    assert all("." in spec.name for spec in reg)
