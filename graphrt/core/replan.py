"""Replanning a changed document from the plan of the document it was changed from.

A rerun that changes a few params (directly, through an arg, or with an override) needs a
plan that differs from the last one only downstream of those params. `replan` checks the
changed nodes again, re-keys the nodes downstream of them and shares everything else with
the previous plan: the graph's other nodes, the order, the edges and the other keys.

It declines (returns None, and the caller plans from scratch) when the structure changed
(nodes, ops, links, outputs, graph inputs, arg declarations), when a changed node is a macro
or was built by one (its expansion may change shape), or when a file the previous keys
fingerprint has changed since.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .args import resolve_args, resolve_refs, split_overrides
from .check import check_params
from .document import GraphDoc
from .errors import InvalidGraph, Issue
from .graph import Graph, Node
from .hashing import same_data, same_params
from .keyer import Keyer
from .paths import Folders
from .plan import Plan
from .registry import Registry


def replan(previous: Plan, doc: GraphDoc, registry: Registry, *,
           args: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None,
           outputs: list[str] | None, folders: Folders) -> Plan | None:
    """The plan of `doc` derived from `previous`, or None when it must be planned anew.
    Raises InvalidGraph when a changed param is invalid (as a full prepare would)."""
    before = previous.graph
    old = before.doc
    if (doc.inputs != old.inputs or doc.outputs != old.outputs or doc.args != old.args
            or doc.nodes.keys() != old.nodes.keys()
            or set(previous.outputs) != set(outputs if outputs is not None else doc.outputs)):
        return None
    issues: list[Issue] = []
    arg_values = resolve_args(doc, dict(args or {}), issues)
    by_node = split_overrides(doc, dict(overrides or {}), issues)
    if issues:
        return None  # the full path reports them
    changed_args = {k for k, v in arg_values.items()
                    if not same_data(before.args.get(k, _ABSENT), v)}
    old_by_node = split_overrides(old, dict(before.overrides), [])
    changed: list[str] = []
    overridden = by_node or old_by_node
    olds = old.nodes
    for node_id, nd in doc.nodes.items():
        was = olds[node_id]
        if nd.op != was.op or nd.in_ != was.in_:
            return None
        params = nd.params
        if not same_params(params, was.params) or (
                overridden and not same_params(by_node.get(node_id), old_by_node.get(node_id))
                ) or (changed_args and _mentions(params, changed_args)):
            changed.append(node_id)
    if not previous.files_unchanged(folders):
        return None
    nodes = dict(before.nodes)
    for node_id in changed:
        prior = nodes.get(node_id)
        if prior is None or prior.origin is not None or prior.spec.is_macro:
            return None  # expanded away, or built by a macro: its expansion may change
        nd = doc.nodes[node_id]
        raw = {k: resolve_refs(v, arg_values, node_id, k, issues)
               for k, v in nd.params.items()}
        raw.update(by_node.get(node_id, {}))
        model = check_params(prior.spec, raw, node_id, issues)
        if model is not None:
            nodes[node_id] = Node(node_id, prior.spec, model, prior.inputs, prior.source)
    if issues:
        raise InvalidGraph(issues)
    graph = Graph(doc, nodes, before.outputs, arg_values, dict(overrides or {}),
                  before.input_types, before.order, before.consumers)
    return _rekeyed(previous, graph, changed, folders)


def _rekeyed(previous: Plan, graph: Graph, changed: list[str], folders: Folders) -> Plan:
    """`previous` over `graph`, with the keys downstream of `changed` computed again."""
    consumers = previous.consumers
    affected: set[str] = set()
    stack = [n for n in changed if n in consumers]
    while stack:
        node_id = stack.pop()
        if node_id not in affected:
            affected.add(node_id)
            stack.extend(consumers[node_id])
    keys = dict(previous.keys)
    fingerprints = dict(previous.fingerprints)
    issues: list[Issue] = []
    key = Keyer(keys, folders, previous.settings, issues).key
    for node_id in (n for n in previous.order if n in affected):
        keys[node_id], fingerprint = key(graph.nodes[node_id])
        if fingerprint is not None:
            fingerprints[node_id] = fingerprint
        else:  # its params no longer name a file
            fingerprints.pop(node_id, None)
    if issues:
        raise InvalidGraph(issues)
    return previous.rekeyed(graph, keys, fingerprints)


_ABSENT = object()


def _mentions(params: Mapping[str, Any], names: set[str]) -> bool:
    """True when a param refers ({"arg": NAME}) to one of `names`, at any depth."""
    stack: list[Any] = [v for v in params.values() if isinstance(v, dict | list)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if len(item) == 1 and item.get("arg") in names:
                return True
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return False
