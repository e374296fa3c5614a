"""Cutting a plan into parts where the model changes (SPEC §13), and the plan of one part.

A value of a *resident* kind (a loaded model, or a bundle that holds one) never leaves the
worker that made it; every other value can travel between workers. A node that reads
resident values is anchored to the nodes that loaded them: its *model*, named by one of
those loaders. Nodes anchored to the same model run on one worker. Model-free nodes follow
their inputs (the latest anchored input in plan order); sources follow their first consumer.
`cut` orders the nodes to run so that each model's nodes stay together as long as the
dependencies allow, and cuts the order where the model changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from heapq import heappop, heappush
from typing import Any

from graphrt.core.document import Ref
from graphrt.core.plan import Plan

# the port kinds of graphrt.ops whose values hold a model (graphrt.ops.types)
RESIDENT_KINDS = frozenset({"MODEL", "CLIP", "VAE", "UPSCALE_MODEL", "SAMPLER", "GUIDER",
                            "BASIC_PIPE", "REGIONAL_PROMPTS"})


@dataclass(frozen=True)
class Layout:
    """Per node of a plan: its model (None: no model anywhere near it); the nodes that make
    resident values; the loaders among them (they read none); per model, its loaders."""

    model: dict[str, str | None]
    resident: frozenset[str]
    loaders: frozenset[str]
    roots: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Part:
    """Nodes of one model, in plan order, that run together on one worker."""

    model: str | None
    nodes: tuple[str, ...]


def layout(plan: Plan, kinds: frozenset[str] = RESIDENT_KINDS) -> Layout:
    """Each node's model, from the resident values it reads (see the module docstring)."""
    graph, order = plan.graph, plan.order
    resident = {n for n in order if any(p.type.name in kinds for p in plan.node(n).spec.outputs)}
    anchors: dict[str, frozenset[str]] = {}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n in order:
        roots: set[str] = set()
        for link in plan.node(n).links():
            if isinstance(link, Ref) and link.node in anchors:
                kind = graph.port_type(link)
                if kind is not None and kind.name in kinds:
                    roots |= anchors[link.node] or {link.node}
        anchors[n] = frozenset(roots)
        group = sorted(roots or ({n} if n in resident else set()))
        for other in group[1:]:  # one node reading two models: they share a worker
            a, b = find(group[0]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    model: dict[str, str | None] = {}
    for n in order:
        members = anchors[n] or ({n} if n in resident else frozenset())
        model[n] = find(min(members)) if members else None
    _follow_inputs(plan, model)
    loaders = frozenset(n for n in resident if not anchors[n])
    by_model: dict[str, list[str]] = {}
    for n in sorted(loaders):
        by_model.setdefault(find(n), []).append(n)
    return Layout(model, frozenset(resident), loaders,
                  {m: tuple(ns) for m, ns in by_model.items()})


def _follow_inputs(plan: Plan, model: dict[str, str | None]) -> None:
    """Model-free nodes take the model of their latest input, then of their first consumer."""
    at = {n: i for i, n in enumerate(plan.order)}.__getitem__
    for n in plan.order:
        if model[n] is None:
            ups = sorted((u for u in plan.upstreams[n] if model[u] is not None), key=at)
            if ups:
                model[n] = model[ups[-1]]
    for n in reversed(plan.order):
        if model[n] is None:
            cons = sorted((c for c in plan.consumers[n] if model[c] is not None), key=at)
            if cons:
                model[n] = model[cons[0]]


def cut(plan: Plan, lay: Layout, todo: Iterable[str]) -> list[Part]:
    """The nodes of `todo` in a topological order that keeps each model's nodes together,
    cut where the model changes (ties go to the earliest node in plan order)."""
    members = set(todo)
    pos = {n: i for i, n in enumerate(plan.order)}
    waiting = {n: sum(1 for u in plan.upstreams[n] if u in members) for n in members}
    ready: dict[str | None, list[tuple[int, str]]] = {}
    for n in members:
        if waiting[n] == 0:
            heappush(ready.setdefault(lay.model[n], []), (pos[n], n))
    parts: list[Part] = []
    current: list[str] = []
    model: str | None = None
    while any(ready.values()):
        if not ready.get(model):
            if current:
                parts.append(Part(model, tuple(current)))
                current = []
            model = min((m for m, h in ready.items() if h), key=lambda m: ready[m][0][0])
        _, n = heappop(ready[model])
        current.append(n)
        for c in plan.consumers[n]:
            if c in members:
                waiting[c] -= 1
                if waiting[c] == 0:
                    heappush(ready.setdefault(lay.model[c], []), (pos[c], c))
    if current:
        parts.append(Part(model, tuple(current)))
    return parts


def boundary(plan: Plan, nodes: Iterable[str]) -> list[str]:
    """The nodes outside `nodes` that they read, in plan order."""
    members = set(nodes)
    outside = {u for n in members for u in plan.upstreams[n] if u not in members}
    return [n for n in plan.order if n in outside]


def part_plan(plan: Plan, nodes: Iterable[str], inputs: Iterable[str],
              outputs: dict[str, Ref[Any]]) -> Plan:
    """The plan a worker runs for one part: `nodes` to compute, `inputs` taken from its
    store (they have no upstreams here), `outputs` the values it must end with."""
    members, taken = set(nodes), set(inputs)
    order = [n for n in plan.order if n in members or n in taken]
    ups = {n: (plan.upstreams[n] if n in members else []) for n in order}
    cons: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for u in ups[n]:
            cons[u].append(n)
    return replace(plan, order=order, keys={n: plan.keys[n] for n in order}, outputs=outputs,
                   consumers=cons, upstreams=ups)


def first_port(plan: Plan, node: str) -> Ref[Any]:
    """A link to a node's first output port (an output that keeps the node's result)."""
    return Ref(node, plan.node(node).spec.outputs[0].name)
