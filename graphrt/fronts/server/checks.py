"""What the server checks on a document before queueing it, from what ops declare.

`CostMeter` is the expansion budget: it sees every node as it joins the graph (the
document's own, then each node a macro adds), so a document over a limit stops expanding at
the first node over it, before the rest is built. Per node: the declared `cost` (pixels,
steps, batch) and the measured size of every input image the node names (read from the
file's header, never decoded). In all: nodes, predicted model calls, and the time spent.
`file_check` runs on the expanded graph: every op's `files` stay inside their folder.
Nothing here names an op, so a plug-in op pack is confined and limited like graphrt's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from graphrt.core.errors import Code, Issue, show
from graphrt.core.expand import Budget
from graphrt.core.graph import Graph, Node
from graphrt.core.paths import Folders, UnsafePath
from graphrt.fronts.server.config import Limits
from graphrt.fronts.server.imagesize import image_size

Check = Callable[[Graph], list[Issue]]
_LIMITS = {"pixels": ("max_pixels", "pixels (width × height)"), "steps": ("max_steps", "steps"),
           "batch": ("max_batch", "images in a batch")}


def _over(node: Node, field: str, what: str, value: int | float, limit: int | float
          ) -> Issue:
    return Issue(code=Code.LIMIT_EXCEEDED, node=node.id, field=field,
                 message=f"{value} {what} is over this server's limit of {limit}",
                 expected=f"<= {limit}", found=str(value), source=node.source)


class CostMeter:
    """The server's limits on one document, checked node by node as it expands."""

    def __init__(self, limits: Limits, folders: Folders) -> None:
        self.limits, self.folders = limits, folders
        self.model_calls = 0
        self.started = time.monotonic()

    def budget(self) -> Budget:
        return Budget(max_nodes=self.limits.max_expanded_nodes,
                      max_per_node=self.limits.max_expansion_per_node, admit=self.admit)

    def admit(self, node: Node) -> list[Issue]:
        """Issues for `node` over a limit, or for the document once it is over one."""
        limits = self.limits
        issues, steps = self._declared(node)
        issues += self._measured(node)
        if issues:
            return issues
        if node.spec.model_calls is not None:
            try:
                calls = node.spec.model_calls(node.params)
            except (ValueError, ArithmeticError):
                calls = None
            self.model_calls += steps if calls is None else calls
        if self.model_calls > limits.max_model_calls:
            issues.append(_over(node, "params", "model calls (predicted, in all)",
                                self.model_calls, limits.max_model_calls))
        elapsed = time.monotonic() - self.started
        if elapsed > limits.max_planning_seconds:
            issues.append(_over(node, "params", "seconds of planning", round(elapsed, 1),
                                limits.max_planning_seconds))
        return issues

    def _declared(self, node: Node) -> tuple[list[Issue], int]:
        """Issues for the node's declared cost, and its declared steps."""
        if node.spec.cost is None:
            return [], 0
        cost = node.spec.cost(node.params)
        issues = []
        for name, value in cost.items():
            attr, what = _LIMITS[name]
            limit = getattr(self.limits, attr)
            if value > limit:
                issues.append(_over(node, "params", what, value, limit))
        return issues, cost.steps

    def _measured(self, node: Node) -> list[Issue]:
        """Issues for images the node reads that are larger than the pixel limit."""
        issues = []
        for fp in node.spec.files:
            value = getattr(node.params, fp.param, None)
            if not isinstance(value, str) or value in fp.builtin or fp.folder.startswith(
                    "models"):
                continue
            try:
                path = self.folders.file(fp.folder, fp.file_name(value))
            except (UnsafePath, ValueError):
                continue  # file_check reports it
            size = image_size(path) if path.is_file() else None
            if size is not None and size[0] * size[1] > self.limits.max_pixels:
                issues.append(_over(node, f"params.{fp.param}",
                                    f"pixels ({size[0]} × {size[1]} image {value!r})",
                                    size[0] * size[1], self.limits.max_pixels))
        return issues


def file_check(folders: Folders) -> Check:
    """Issues for file-name params that would leave their declared folder."""

    def check(graph: Graph) -> list[Issue]:
        issues = []
        for node in graph.nodes.values():
            for fp in node.spec.files:
                value = getattr(node.params, fp.param, None)
                if not isinstance(value, str) or value in fp.builtin:
                    continue
                try:
                    folders.file(fp.folder, fp.file_name(value))
                except (UnsafePath, ValueError) as exc:
                    issues.append(Issue(code=Code.UNSAFE_PATH, node=node.id,
                                        field=f"params.{fp.param}", message=str(exc),
                                        expected=f"a name inside <{fp.folder}>",
                                        found=show(value), source=node.source))
        return issues

    return check
