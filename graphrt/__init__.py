"""graphrt: declarative graph execution for diffusion sampling, with content-hash caching.

The public surface. Importing graphrt never imports torch.
"""

from .errors import Cancelled, GraphError, InvalidGraph, Issue, OpError
from .execute import RunResult
from .expand import Builder
from .graph import GraphDoc, Ref, load_graph
from .op import NoParams, OpSpec, Params, Port, macro, op
from .registry import Registry, default_registry
from .runtime import PlanReport, Runtime

__version__ = "0.1.0"

__all__ = [
    "Builder", "Cancelled", "GraphDoc", "GraphError", "InvalidGraph", "Issue", "NoParams",
    "OpError", "OpSpec", "Params", "PlanReport", "Port", "Ref", "Registry", "RunResult", "Runtime",
    "default_registry", "load_graph", "macro", "op",
]
