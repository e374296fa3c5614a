import pytest

from graphrt import Registry, op
from graphrt.core.errors import OpDefinitionError
from graphrt.core.types import Float
from graphrt.library import default_registry
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


def test_plugin_packs_come_from_entry_points(monkeypatch) -> None:
    """A pack published under the `graphrt.ops` group joins the default registry."""
    from importlib.metadata import EntryPoint

    import graphrt.core.registry as registry
    import graphrt.library as library

    fake = EntryPoint(name="fakes", value="tests.fakeops:FAKE_OPS", group="graphrt.ops")
    monkeypatch.setattr(registry, "entry_points", lambda group: [fake])
    monkeypatch.setattr(library, "entry_points", lambda group: [fake])
    library.default_registry.cache_clear()
    try:
        reg = library.default_registry()
        assert "test.const" in reg and "sample.steps" in reg
        assert "test.const" in Registry.from_entry_points()
    finally:
        library.default_registry.cache_clear()
