import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from graphrt.core.toposort import topological_order


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=80))
def test_same_order_as_networkx_and_detects_cycles(edges: list[tuple[int, int]]) -> None:
    g = nx.DiGraph()
    g.add_nodes_from(f"n{i:02}" for i in range(31))
    g.add_edges_from((f"n{a:02}", f"n{b:02}") for a, b in edges)
    upstreams = {n: list(g.predecessors(n)) for n in g}
    order = topological_order(g.nodes, upstreams)
    if nx.is_directed_acyclic_graph(g):
        assert order == list(nx.lexicographical_topological_sort(g))
    else:
        assert len(order) < len(g)
