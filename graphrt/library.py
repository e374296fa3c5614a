"""graphrt as users get it: the core runtime with graphrt's op library and formats.

`default_registry()` holds graphrt's built-in ops (the `graphrt.ops` pack) plus every op
pack installed under the `graphrt.ops` entry-point group; `FORMATS` are the document formats
accepted besides the native one (ComfyUI's API format, PNGs that carry a graph). `Runtime`
is the core runtime with both as defaults. Importing this module imports no torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from graphrt.compat.formats import FORMATS
from graphrt.core.document import DocumentFormat, GraphDoc
from graphrt.core.document import load_graph as core_load_graph
from graphrt.core.registry import ENTRY_POINT_GROUP, Registry
from graphrt.core.runtime import Runtime as CoreRuntime

BUILTIN_PACK = "graphrt.ops:OPS"


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """graphrt's own op library plus every installed plug-in pack."""
    from graphrt.ops import OPS

    reg = Registry(OPS)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.value != BUILTIN_PACK:
            reg.extend(ep.load())
    return reg


class Runtime(CoreRuntime):
    """The runtime with graphrt's op library and document formats unless given others."""

    def __init__(self, *, registry: Registry | Iterable[Any] | None = None,
                 formats: Sequence[DocumentFormat] = FORMATS, **options: Any) -> None:
        super().__init__(registry=default_registry() if registry is None else registry,
                         formats=formats, **options)


def load_graph(source: Any, formats: Sequence[DocumentFormat] = FORMATS) -> GraphDoc:
    """Load a document in the native format or one of graphrt's other formats."""
    return core_load_graph(source, formats)
