"""Deterministic topological order (Kahn's algorithm, smallest id first), in linear time.

The same order as networkx's `lexicographical_topological_sort`, without its per-call
dispatch overhead, which dominated planning small graphs. networkx still builds the graph
where one is wanted (`Plan.dag`) and finds the path of a cycle for the error message.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence


def topological_order(
    nodes: Iterable[str], upstreams: Mapping[str, Sequence[str]]
) -> list[str]:
    """Nodes ordered so that each comes after its upstreams (ids outside `nodes` are
    ignored); ties broken by smallest id. Shorter than `nodes` when there is a cycle."""
    members = set(nodes)
    indegree = {n: 0 for n in members}
    consumers: dict[str, list[str]] = {n: [] for n in members}
    for n in members:
        for u in dict.fromkeys(upstreams.get(n, ())):
            if u in members:
                indegree[n] += 1
                consumers[u].append(n)
    ready = [n for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for c in consumers[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(ready, c)
    return order
