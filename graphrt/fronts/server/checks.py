"""What the server checks on an expanded graph before queueing it, from what ops declare.

Every op's `files` (params naming files, with their folders) must stay inside their folder;
every node's `cost` (pixels, steps, batch) must be within the server's limits. Nothing here
names an op, so a plug-in op pack's loaders are confined and limited like graphrt's own.
"""

from __future__ import annotations

from collections.abc import Callable

from graphrt.core.errors import Code, Issue, show
from graphrt.core.graph import Graph
from graphrt.core.paths import Folders, UnsafePath
from graphrt.fronts.server.config import Limits

Check = Callable[[Graph], list[Issue]]
_LIMITS = {"pixels": ("max_pixels", "pixels (width × height)"), "steps": ("max_steps", "steps"),
           "batch": ("max_batch", "images in a batch")}


def cost_check(limits: Limits) -> Check:
    """Issues for nodes whose declared cost is over `limits`."""

    def check(graph: Graph) -> list[Issue]:
        issues = []
        for node in graph.nodes.values():
            if node.spec.cost is None:
                continue
            for name, value in node.spec.cost(node.params).items():
                attr, what = _LIMITS[name]
                limit = getattr(limits, attr)
                if value > limit:
                    issues.append(Issue(code=Code.LIMIT_EXCEEDED, node=node.id, field="params",
                                        message=f"{value} {what} is over this server's limit "
                                        f"of {limit}", expected=f"<= {limit}",
                                        found=str(value), source=node.source))
        return issues

    return check


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
