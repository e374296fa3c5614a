"""Documents that run the outputs that check out (`"skip_invalid_outputs": true`).

Such a document is checked output by output, as far as its links tell: only the nodes some
requested output needs are checked (a node no output needs is never looked at), and an
issue on a node leaves out every output that needs it (`Plan.dropped_outputs`: output →
the issues that dropped it); the rest is checked again, expanded and planned. The issues a
document format found on nodes while translating (`pending`), those of the host's checks
on the expanded graph (an expanded node counting as the document node it came from) and
files that planning cannot read drop outputs the same way. Issues on no node (args, the
document itself), issues of expansion (budget, macros), and issues that would leave no
output refuse the document, with every issue found, as without the flag.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .document import GraphDoc
from .errors import InvalidGraph, Issue
from .graph import Graph
from .plan import Plan, refuse_unknown_outputs
from .registry import Registry
from .validate import check


class OutputPolicy:
    """One preparation of a document that skips invalid outputs: which requested outputs
    are kept, which were dropped and why."""

    def __init__(self, doc: GraphDoc, outputs: list[str] | None,
                 pending: list[Issue]) -> None:
        refuse_unknown_outputs(outputs or (), doc.outputs)
        self.source = doc
        names = list(doc.outputs if outputs is None else dict.fromkeys(outputs))
        self.need = {name: _needs(doc, doc.outputs[name]) for name in names}
        self.dropped: dict[str, list[Issue]] = {}
        needed = set().union(*self.need.values())
        # a node no output needs is never checked (its translation issues neither)
        self.pending = [i for i in pending if i.node not in doc.nodes or i.node in needed]
        self.doc = self._kept()

    @property
    def kept(self) -> list[str]:
        """The requested outputs still kept."""
        return [o for o in self.need if o not in self.dropped]

    def may_replan(self, previous: Plan) -> bool:
        """Whether `previous` may be edited into this document's plan: only when nothing is
        pending and nothing was dropped from it."""
        return not self.pending and not previous.dropped_outputs

    def check(self, registry: Registry, *, args: Mapping[str, Any] | None,
              overrides: Mapping[str, Any] | None) -> Graph:
        """The checked graph of the kept outputs; raises InvalidGraph (see the module)."""
        graph, issues = check(self.doc, registry, args=args, overrides=self._overrides(
            overrides))
        issues = self.pending + issues
        if not issues and graph is not None:
            return graph
        self.drop(issues)
        self.doc = self._kept()
        graph, more = check(self.doc, registry, args=args, overrides=self._overrides(
            overrides))
        if more or graph is None:  # not expected: issues only shrink with the document
            raise InvalidGraph(issues + more)
        return graph

    def plan(self, make: Callable[[list[str]], Plan]) -> Plan:
        """The plan `make` makes of the kept outputs, dropping those whose files it cannot
        read."""
        while True:
            try:
                plan = make(self.kept)
            except InvalidGraph as exc:
                self.drop(exc.issues)  # each round drops an output, or raises
                continue
            plan.dropped_outputs = self.dropped
            return plan

    def drop(self, issues: list[Issue]) -> None:
        """Drop every kept output that needs a node of `issues`; raises InvalidGraph with
        every issue when one is on no node (or on a node no output needs) or when no output
        would be left."""
        dropped = dict(self.dropped)
        for issue in issues:
            node = issue.source or issue.node
            hit = [o for o in self.kept if node in self.need[o]] if node is not None else []
            if not hit:
                raise InvalidGraph(self._every(issues))
            for output in hit:
                dropped.setdefault(output, []).append(issue)
        if len(dropped) == len(self.need):
            raise InvalidGraph(self._every(issues))
        self.dropped = dropped

    def _every(self, issues: list[Issue]) -> list[Issue]:
        """`issues` after those that dropped outputs already."""
        known = list(dict.fromkeys(i for found in self.dropped.values() for i in found))
        return known + [i for i in issues if i not in known]

    def _kept(self) -> GraphDoc:
        """The document with the kept outputs (the requested ones, when outputs were
        selected) and only the nodes they need."""
        kept = self.kept
        if not self.need:  # no declared outputs: nothing to check one by one
            return self.source
        needed = set().union(*(self.need[o] for o in kept))
        doc = self.source
        if len(needed) == len(doc.nodes) and kept == list(doc.outputs):
            return doc
        return doc.model_copy(update={
            "nodes": {k: v for k, v in doc.nodes.items() if k in needed},
            "outputs": {k: doc.outputs[k] for k in kept}})

    def _overrides(self, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        """Overrides of nodes left out are not applied; those naming no node of the source
        document are kept, to be reported."""
        nodes, source = self.doc.nodes, self.source.nodes
        return {k: v for k, v in (overrides or {}).items()
                if k.rpartition(".")[0] in nodes or k.rpartition(".")[0] not in source}


def _needs(doc: GraphDoc, output: str) -> set[str]:
    """The ids of the nodes `output` ("node.port") needs, by links, itself included (ids
    that are not in the document too: a link to one is an issue of its consumer)."""
    seen: set[str] = set()
    stack = [output.rpartition(".")[0]]
    nodes = doc.nodes
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        nd = nodes.get(node_id)
        if nd is None:
            continue
        for value in nd.in_.values():
            for text in value if isinstance(value, list) else (value,):
                if isinstance(text, str) and not text.startswith("$"):
                    stack.append(text.rpartition(".")[0])
    return seen
