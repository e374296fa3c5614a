"""Planning: prune to what the requested outputs need, order, and key every node.

The plan is the expanded graph pruned to the ancestors of the requested outputs, in a
deterministic topological order (smallest id first; `Plan.dag` gives it as a networkx
DiGraph). Keys are computed in that order, so each needs only its inputs' keys: linear, no
recursion.
`decide` then tells, per node, whether it will execute, come from the cache, or is not
needed at all (everything downstream of it is cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

import networkx as nx

from .document import Ref
from .errors import Code, InvalidGraph, Issue
from .graph import Graph, Node
from .keyer import Keyer
from .paths import Folders
from .settings import RunSettings
from .toposort import ordered

Status = Literal["execute", "cached", "skipped"]


class KeyLookup(Protocol):
    def __contains__(self, key: object) -> bool: ...


@dataclass
class Plan:
    """Nodes in execution order with their cache keys, and the requested outputs."""

    graph: Graph
    order: list[str]
    keys: dict[str, str]
    outputs: dict[str, Ref[Any]]
    consumers: dict[str, list[str]] = field(default_factory=dict)
    upstreams: dict[str, Sequence[str]] = field(default_factory=dict)
    settings: RunSettings = field(default_factory=RunSettings)
    fingerprints: dict[str, Any] = field(default_factory=dict)  # file identities in the keys
    dropped_outputs: dict[str, list[Issue]] = field(default_factory=dict)  # left out, and why
    # the `holding` token of the store that held every key when last asked (`decide`)
    all_held_under: Any = field(default=None, init=False, compare=False, repr=False)
    _uniform: dict[str, dict[str, Status]] = field(default_factory=dict, init=False,
                                                   compare=False, repr=False)

    def every(self, status: Status) -> dict[str, Status]:
        """Every node with `status`, in order: a copy of a dict built once per plan (a
        first run and an identical rerun)."""
        uniform = self._uniform
        template = uniform.get(status)
        if template is None:  # from another status's dict when there is one: presized
            source = next(iter(uniform.values()), None)
            template = uniform[status] = dict.fromkeys(
                self.order if source is None else source, status)
        return template.copy()

    def rekeyed(self, graph: Graph, keys: dict[str, str],
                fingerprints: dict[str, Any]) -> Plan:
        """This plan over `graph`, a graph of the same nodes, links and outputs with other
        params, and its `keys`: what follows from the structure alone is kept, not
        derived again (a rerun of an edit of a small graph costs little else)."""
        plan = Plan(graph, self.order, keys, self.outputs, self.consumers, self.upstreams,
                    self.settings, fingerprints, self.dropped_outputs)
        known = self.__dict__
        plan.__dict__.update({k: known[k] for k in _STRUCTURAL if k in known})
        plan._uniform = self._uniform  # the same order: the same status dicts
        return plan

    def dropped_json(self) -> dict[str, list[dict[str, Any]]]:
        """Output → the issues that left it out (a document that skips invalid outputs), as
        JSON-ready data."""
        return {name: [i.model_dump(mode="json") for i in issues]
                for name, issues in self.dropped_outputs.items()}

    @cached_property
    def document(self) -> dict[str, Any]:
        """The document this plan runs, its args and overrides, as JSON-ready data (what
        saving ops embed so an output can be rerun); built on first use, once per plan."""
        graph = self.graph
        return {"graph": graph.doc.dump(), "args": dict(graph.args),
                "overrides": dict(graph.overrides)}

    def files_unchanged(self, folders: Folders) -> bool:
        """True while every file this plan's keys fingerprint is as it was when planned (a
        plan reused for an identical document must not serve a changed file's results)."""
        try:
            for node_id, known in self.fingerprints.items():
                node = self.node(node_id)
                identify = node.spec.fingerprint
                if identify is not None and identify(node.params, folders) != known:
                    return False
        except (OSError, ValueError):
            return False
        return True

    @property
    def dag(self) -> nx.DiGraph:
        """The plan as a networkx DiGraph (edges upstream → consumer), for analysis."""
        g = nx.DiGraph()
        g.add_nodes_from(self.order)
        g.add_edges_from((u, n) for n in self.order for u in self.upstreams[n])
        return g

    def node(self, node_id: str) -> Node:
        return self.graph.nodes[node_id]

    def upstream(self, node_id: str) -> list[str]:
        """Distinct upstream node ids of a node."""
        return list(self.upstreams[node_id])

    @cached_property
    def key_set(self) -> frozenset[str]:
        """The plan's distinct keys (nodes of the same recipe share one)."""
        return frozenset(self.keys.values())

    @cached_property
    def sinks(self) -> list[str]:
        """The nodes no other node of the plan reads, in order."""
        consumers = self.consumers
        return [n for n in self.order if not consumers.get(n)]

    @cached_property
    def targets(self) -> frozenset[str]:
        """The nodes whose outputs are asked for: the outputs' nodes, or else every sink."""
        return frozenset({ref.node for ref in self.outputs.values()} or self.sinks)

    @cached_property
    def all_needed(self) -> bool:
        """Every node feeds a target (as in a plan pruned to its outputs' ancestors): each
        path down from a node ends at a sink, so it is enough that every sink is one."""
        return self.targets.issuperset(self.sinks)

    @cached_property
    def predicting(self) -> list[str]:
        """The nodes whose ops predict their model calls (`OpSpec.model_calls`), in order."""
        nodes = self.graph.nodes
        return [n for n in self.order if nodes[n].spec.model_calls is not None]

    def model_calls(self, node_id: str) -> int | None:
        """Predicted model evaluations of a node (0 when the op declares none)."""
        node = self.graph.nodes[node_id]
        predict = node.spec.model_calls
        return predict(node.params) if predict else 0


_STRUCTURAL = ("sinks", "targets", "all_needed", "predicting")  # `Plan.rekeyed` keeps them


def make_plan(
    graph: Graph,
    *,
    outputs: list[str] | None = None,
    folders: Folders | None = None,
    settings: RunSettings | None = None,
) -> Plan:
    """Prune, order and key an expanded graph. `outputs` selects graph outputs by name;
    `settings` (device, dtype) enter the keys of ops declared `device=True`."""
    wanted = _wanted_outputs(graph, outputs)
    nodes = graph.nodes
    known = graph.consumers if len(graph.order) == len(nodes) else None
    sinks = [n for n, fed in known.items() if not fed] if known is not None else None
    targets = list(dict.fromkeys(ref.node for ref in wanted.values()))
    if not wanted:  # no declared outputs: every sink is a target
        if sinks is not None:
            targets = sinks
        else:
            fed = {r.node for n in nodes.values() for r in n.links() if isinstance(r, Ref)}
            targets = [n for n in nodes if n not in fed]
    if graph.doc.inputs:
        _check_bound(graph, _ancestors(graph, targets))
    order: list[str]
    consumers: dict[str, list[str]]
    upstreams: dict[str, Sequence[str]]
    if known is not None and sinks is not None and set(targets).issuperset(sinks):
        # every sink is a target, so every node is needed: checking ordered them all
        order, consumers = list(graph.order), known
        upstreams = {n: node.upstream for n, node in nodes.items()}
    else:
        needed = _ancestors(graph, targets)
        upstreams = {n: nodes[n].upstream for n in needed}
        order, consumers = ordered(needed, upstreams)
    keys: dict[str, str] = {}
    fingerprints: dict[str, Any] = {}
    folders = folders or Folders()
    settings = settings or RunSettings()
    issues: list[Issue] = []
    key = Keyer(keys, folders, settings, issues).key
    for node_id in order:
        keys[node_id], fingerprint = key(nodes[node_id])
        if fingerprint is not None:
            fingerprints[node_id] = fingerprint
    if issues:
        raise InvalidGraph(issues)
    return Plan(graph, order, keys, wanted, consumers, upstreams, settings, fingerprints)


def decide(plan: Plan, cache: KeyLookup) -> dict[str, Status]:
    """Per node: execute (needed, not cached), cached (in the cache), or skipped (not needed,
    not cached). Walks the order backwards once."""
    keys, upstreams = plan.keys, plan.upstreams
    holding = getattr(cache, "holding", None)
    token = holding() if holding is not None else None
    if token is not None and plan.all_held_under == token:  # nothing left the cache since
        return plan.every("cached")
    held = _held(cache, plan.key_set)
    if len(held) == len(plan.key_set):  # an identical rerun: everything is at hand
        plan.all_held_under = token
        return plan.every("cached")
    if not held and plan.all_needed:  # a first run of a pruned plan: run it all
        return plan.every("execute")
    needed = set(plan.targets)
    status: dict[str, Status] = {}
    for node_id in reversed(plan.order):
        if keys[node_id] in held:
            status[node_id] = "cached"
        elif node_id in needed:
            status[node_id] = "execute"
            needed.update(upstreams[node_id])
        else:
            status[node_id] = "skipped"
    return {n: status[n] for n in plan.order}


def _held(cache: KeyLookup, keys: Iterable[str]) -> AbstractSet[str]:
    """The keys `cache` holds (read only), in one call when it can tell them at once
    (`held`)."""
    held = getattr(cache, "held", None)
    if held is not None:
        found: AbstractSet[str] = held(keys)
        return found
    return {k for k in keys if k in cache}


def _wanted_outputs(graph: Graph, names: list[str] | None) -> dict[str, Ref[Any]]:
    if names is None:
        return dict(graph.outputs)
    refuse_unknown_outputs(names, graph.outputs)
    return {n: graph.outputs[n] for n in names}


def refuse_unknown_outputs(names: Iterable[str], declared: Mapping[str, Any]) -> None:
    """Raise InvalidGraph naming each of `names` that is not a declared output."""
    unknown = [n for n in names if n not in declared]
    if unknown:
        raise InvalidGraph([Issue(code=Code.UNKNOWN_OUTPUT, field=f"outputs.{n}",
                                  message=f"the graph has no output {n!r}",
                                  expected=", ".join(declared), found=n) for n in unknown])


def _check_bound(graph: Graph, needed: Iterable[str]) -> None:
    """Refuse a graph whose needed nodes read graph inputs: those run only as ops."""
    for node_id in needed:
        if graph.nodes[node_id].reads_input:
            raise InvalidGraph([Issue(code=Code.UNBOUND_INPUT, node=node_id,
                                      message="a graph input has no value: graphs with "
                                      "inputs run as ops inside other graphs")])


def _ancestors(graph: Graph, targets: list[str]) -> set[str]:
    nodes = graph.nodes
    seen: set[str] = set()
    stack = list(targets)
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        stack.extend(nodes[node_id].upstream)
    return seen
