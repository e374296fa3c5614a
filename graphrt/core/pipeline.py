"""The one path from a document to a plan: load → check → expand → (host checks) → plan.

The runtime, the CLI and the server all prepare documents here. A host that must refuse
documents over its limits passes a `Budget` (bounds checked on every node as expansion adds
it, so an expansion over them stops early) and `checks`: functions of the expanded graph
that return issues, run before any key is computed (so before any model file is
fingerprinted). Setting `cancel` stops preparing (Cancelled) at the next node or stage.
A document that skips invalid outputs is checked through graphrt.core.partial.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .document import DocumentFormat, GraphDoc, load_graph
from .errors import InvalidGraph, Issue
from .expand import Budget, expand, stop_if
from .graph import Graph
from .partial import OutputPolicy
from .paths import Folders
from .plan import Plan, make_plan
from .registry import Registry
from .replan import replan
from .settings import RunSettings
from .validate import validate

Source = str | Path | dict[str, Any] | GraphDoc
Check = Callable[[Graph], list[Issue]]


@dataclass(frozen=True)
class Preparer:
    """Everything preparing a document depends on, held by a Runtime."""

    registry: Registry
    formats: Sequence[DocumentFormat] = ()
    folders: Folders = field(default_factory=Folders)
    settings: RunSettings = field(default_factory=RunSettings)

    def load(self, source: Source, *, args: Mapping[str, Any] | None = None,
             overrides: Mapping[str, Any] | None = None) -> Graph:
        """Load and check a document (no expansion); raises InvalidGraph."""
        return validate(load_graph(source, self.formats), self.registry, args=args,
                        overrides=overrides)

    def prepare(self, source: Source, *, args: Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None,
                outputs: list[str] | None = None, checks: Sequence[Check] = (),
                budget: Budget | None = None, cancel: threading.Event | None = None,
                previous: Plan | None = None) -> Plan:
        """The plan of a document; raises InvalidGraph with every issue found, or Cancelled
        when `cancel` is set before it is done. Given the `previous` plan of a document this
        one may be an edit of, only what the edit affects is checked and keyed again
        (graphrt.core.replan); host checks and budgets always plan from scratch."""
        with gc_paused():
            pending: list[Issue] = []
            doc = load_graph(source, self.formats, pending)
            policy = OutputPolicy(doc, outputs, pending) if doc.skip_invalid_outputs else None
            if previous is not None and not checks and budget is None and (
                    policy is None or policy.may_replan(previous)):
                try:
                    plan = replan(previous, doc if policy is None else policy.doc,
                                  self.registry, args=args, overrides=overrides,
                                  outputs=outputs, folders=self.folders)
                except InvalidGraph:
                    if policy is None:
                        raise
                    plan = None  # the full path drops the outputs it breaks
                if plan is not None:
                    return plan
            if policy is None:
                graph = self.load(doc, args=args, overrides=overrides)
            else:
                graph = policy.check(self.registry, args=args, overrides=overrides)
            stop_if(cancel)
            graph = expand(graph, self.registry, budget=budget, cancel=cancel)
            issues = [issue for check in checks for issue in check(graph)]
            if issues:
                if policy is None:
                    raise InvalidGraph(issues)
                policy.drop(issues)
            stop_if(cancel)
            if policy is not None:
                return policy.plan(lambda kept: make_plan(
                    graph, outputs=kept, folders=self.folders, settings=self.settings))
            return make_plan(graph, outputs=outputs, folders=self.folders,
                             settings=self.settings)


class gc_paused:  # noqa: N801 - used as a function: `with gc_paused():`
    """No cyclic garbage collection while planning: the plan's many small, acyclic objects
    would otherwise make each full collection rescan them (quadratic on 10k-node graphs).
    What planning allocated is then moved to the oldest generation at once (a freeze and an
    unfreeze), so the first young collection after it does not scan it all either. (A class:
    a generator-based context manager costs several times more, at every run.)"""

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        gc.freeze()
        gc.unfreeze()
        if self.was_enabled:
            gc.enable()
