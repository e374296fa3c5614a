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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60), st.integers(1, 3))
def test_chains_and_trees_order_as_networkx(parents: list[int], fan: int) -> None:
    """Node i reads node parents[i] (when smaller) and its `fan` predecessors: long chains
    and trees with unpadded ids, where the next node is often taken without the heap."""
    g = nx.DiGraph()
    g.add_nodes_from(str(i) for i in range(len(parents)))
    for i, p in enumerate(parents):
        if p < i:
            g.add_edge(str(p), str(i))
        for j in range(max(0, i - fan), i):
            if (i + j) % 3:
                g.add_edge(str(j), str(i))
    upstreams = {n: list(g.predecessors(n)) for n in g}
    assert topological_order(g.nodes, upstreams) == list(nx.lexicographical_topological_sort(g))
