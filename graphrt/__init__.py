"""graphrt: declarative graph execution for diffusion sampling, with content-hash caching.

The public surface. Layers (see ARCHITECTURE.md): `graphrt.core` (the engine, nothing of
diffusion), `graphrt.ops` (the op library), `graphrt.compat` (ComfyUI formats),
`graphrt.fronts` (CLI and server); `graphrt.library` ties the default runtime together.
Importing graphrt never imports torch.
"""

from graphrt.core.context import OpContext
from graphrt.core.document import GraphDoc, InputRef, Ref
from graphrt.core.errors import Cancelled, Code, GraphError, InvalidGraph, Issue, OpError
from graphrt.core.execute import RunResult
from graphrt.core.expand import Builder
from graphrt.core.hints import Cost, FileParam
from graphrt.core.op import NoParams, OpSpec, Params, Port, macro, op
from graphrt.core.registry import Registry
from graphrt.core.runtime import PlanReport
from graphrt.library import Runtime, default_registry, load_graph

__version__ = "0.1.0"

__all__ = [
    "Builder", "Cancelled", "Code", "Cost", "FileParam", "GraphDoc", "GraphError", "InputRef",
    "InvalidGraph", "Issue", "NoParams", "OpContext", "OpError", "OpSpec", "Params",
    "PlanReport", "Port", "Ref", "Registry", "RunResult", "Runtime", "default_registry",
    "load_graph", "macro", "op",
]
