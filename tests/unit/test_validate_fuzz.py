"""Property test: random and malformed documents never raise anything but InvalidGraph."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphrt import InvalidGraph, Registry, load_graph
from graphrt.core.expand import expand
from graphrt.core.plan import make_plan
from graphrt.core.validate import validate
from tests.fakeops import FAKE_OPS

REG = Registry(FAKE_OPS)
OPS = [s.name for s in REG] + ["nope", "", "test.", "x" * 300]
NAMES = st.sampled_from(["a", "b", "c", "d", "e", "bad id", "$", ""])
PORTS = st.sampled_from(["a", "b", "xs", "out", "low", "high", "q", ""])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=True), st.text(max_size=8))
JSONISH = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3)
                       | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=8)
LINK = st.one_of(st.builds(lambda n, p: f"{n}.{p}", NAMES, PORTS), st.just("$x"), JSONISH)
PARAMS = st.dictionaries(st.sampled_from(["value", "times", "text", "fail", "steps", "zz"]),
                         st.one_of(JSONISH, st.fixed_dictionaries({"arg": NAMES})), max_size=3)
NODE = st.one_of(
    st.fixed_dictionaries({"op": st.sampled_from(OPS)},
                          optional={"in": st.dictionaries(PORTS, st.one_of(LINK, st.lists(LINK,
                                                          max_size=3)), max_size=3),
                                    "params": PARAMS}),
    JSONISH,
)
DOC = st.one_of(
    st.fixed_dictionaries({"nodes": st.dictionaries(NAMES, NODE, max_size=6)},
                          optional={"format": st.sampled_from(["graphrt/1", "other", 3]),
                                    "outputs": st.dictionaries(st.text(max_size=3), LINK,
                                                               max_size=3),
                                    "args": st.dictionaries(NAMES, JSONISH, max_size=2),
                                    "inputs": JSONISH}),
    JSONISH,
)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(DOC)
def test_load_validate_plan_never_crash(doc: object) -> None:
    try:
        graph = validate(load_graph(doc if isinstance(doc, dict) else {"nodes": doc}), REG)
        make_plan(expand(graph, REG))
    except InvalidGraph as exc:
        assert exc.issues, "an InvalidGraph always carries issues"
        for issue in exc.issues:
            assert issue.code and issue.message
