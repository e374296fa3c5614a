"""Planning: prune to what the requested outputs need, order, and key every node.

The plan is the expanded graph pruned to the ancestors of the requested outputs, in a
deterministic topological order (smallest id first; `Plan.dag` gives it as a networkx
DiGraph). Keys are computed in that order, so each needs only its inputs' keys: linear, no
recursion.
`decide` then tells, per node, whether it will execute, come from the cache, or is not
needed at all (everything downstream of it is cached).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

import networkx as nx

from .document import Ref
from .errors import Code, InvalidGraph, Issue
from .graph import Graph, Node
from .hashing import key_from, recipe_head
from .paths import Folders
from .settings import RunSettings
from .toposort import topological_order

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
    upstreams: dict[str, list[str]] = field(default_factory=dict)
    settings: RunSettings = field(default_factory=RunSettings)
    fingerprints: dict[str, Any] = field(default_factory=dict)  # file identities in the keys
    dropped_outputs: dict[str, list[Issue]] = field(default_factory=dict)  # left out, and why

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
        return self.upstreams[node_id]

    def model_calls(self, node_id: str) -> int | None:
        """Predicted model evaluations of a node (0 when the op declares none)."""
        node = self.graph.nodes[node_id]
        predict = node.spec.model_calls
        return predict(node.params) if predict else 0


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
    targets = list(dict.fromkeys(ref.node for ref in wanted.values()))
    if not wanted:  # no declared outputs: every sink is a target
        fed = {r.node for n in graph.nodes.values() for r in n.links() if isinstance(r, Ref)}
        targets = [n for n in graph.nodes if n not in fed]
    needed = _ancestors(graph, targets)
    nodes = graph.nodes
    consumers: dict[str, list[str]] = {n: [] for n in needed}
    upstreams: dict[str, list[str]] = {}
    for node_id in needed:
        node = nodes[node_id]
        if node.reads_input:
            raise InvalidGraph([Issue(code=Code.UNBOUND_INPUT, node=node_id,
                                      message="a graph input has no value: graphs with "
                                      "inputs run as ops inside other graphs")])
        ups = upstreams[node_id] = list(node.upstream)
        for u in ups:
            consumers[u].append(node_id)
    if len(graph.order) == len(needed) == len(nodes):
        order = list(graph.order)  # checking ordered every node already
    else:
        order = topological_order(needed, upstreams)
    keys: dict[str, str] = {}
    fingerprints: dict[str, Any] = {}
    folders = folders or Folders()
    settings = settings or RunSettings()
    issues: list[Issue] = []
    heads: Heads = {}
    for node_id in order:
        keys[node_id], fingerprint = key_of(nodes[node_id], keys, folders, settings, issues,
                                            heads)
        if fingerprint is not None:
            fingerprints[node_id] = fingerprint
    if issues:
        raise InvalidGraph(issues)
    return Plan(graph, order, keys, wanted, consumers, upstreams, settings, fingerprints)


def decide(plan: Plan, cache: KeyLookup) -> dict[str, Status]:
    """Per node: execute (needed, not cached), cached (in the cache), or skipped (not needed,
    not cached). Walks the order backwards once."""
    needed = {ref.node for ref in plan.outputs.values()} or {
        n for n in plan.order if not plan.consumers.get(n)
    }
    status: dict[str, Status] = {}
    keys, upstreams = plan.keys, plan.upstreams
    held = _held(cache, keys.values())
    if held.issuperset(keys.values()):  # an identical rerun: everything is at hand
        return dict.fromkeys(plan.order, "cached")
    for node_id in reversed(plan.order):
        if keys[node_id] in held:
            status[node_id] = "cached"
        elif node_id in needed:
            status[node_id] = "execute"
            needed.update(upstreams[node_id])
        else:
            status[node_id] = "skipped"
    return {n: status[n] for n in plan.order}


def _held(cache: KeyLookup, keys: Iterable[str]) -> set[str]:
    """The keys `cache` holds, in one call when it can tell them at once (`held`)."""
    held = getattr(cache, "held", None)
    if held is not None:
        found: set[str] = held(keys)
        return found
    return {k for k in keys if k in cache}


def _wanted_outputs(graph: Graph, names: list[str] | None) -> dict[str, Ref[Any]]:
    if names is None:
        return dict(graph.outputs)
    unknown = [n for n in names if n not in graph.outputs]
    if unknown:
        raise InvalidGraph([Issue(code=Code.UNKNOWN_OUTPUT, field=f"outputs.{n}",
                                  message=f"the graph has no output {n!r}",
                                  expected=", ".join(graph.outputs), found=n) for n in unknown])
    return {n: graph.outputs[n] for n in names}


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


Heads = dict[tuple[Any, int], bytes]  # (spec, id of params) → packed head of their keys


def key_of(node: Node, keys: dict[str, str], folders: Folders, settings: RunSettings,
           issues: list[Issue], heads: Heads | None = None) -> tuple[str, Any]:
    """(key, file fingerprint or None) of a node whose inputs are keyed in `keys`; an
    unreadable file is an issue (and an empty key). `heads` shares the packed recipe of
    nodes with the same op and params object (checking validates equal params to one)."""
    try:
        identify = node.spec.fingerprint
        fingerprint = identify(node.params, folders) if identify is not None else None
        return _key(node, keys, fingerprint, settings, {} if heads is None else heads), \
            fingerprint
    except (OSError, ValueError) as exc:
        issues.append(Issue(code=Code.BAD_FILE, node=node.id, field="params", message=str(exc),
                            expected="a readable file", found=str(exc), source=node.source))
        return "", None


def _key(node: Node, keys: dict[str, str], fingerprint: Any, settings: RunSettings,
         heads: Heads) -> str:
    inputs: list[tuple[str, str, str]] = []
    for port, value in node.inputs.items():
        if type(value) is Ref:
            inputs.append((port, keys[value.node], value.port))
        elif isinstance(value, tuple):
            inputs.extend((f"{port}#{i}", keys[r.node], r.port) for i, r in enumerate(value)
                          if isinstance(r, Ref))
        elif isinstance(value, Ref):
            inputs.append((port, keys[value.node], value.port))
    spec, params = node.spec, node.params
    slot = (spec, id(params))
    head = heads.get(slot)
    if head is None:
        head = heads[slot] = recipe_head(spec.name, spec.version, params.model_dump(mode="json"))
    run = settings.key() if spec.device else None
    return key_from(head, inputs, fingerprint, run)
