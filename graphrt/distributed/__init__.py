"""graphrt on several GPUs or machines: a Ray executor (SPEC §13; `pip install graphrt[ray]`).

`RayExecutor` plugs into `Runtime(executor=...)` (and `graphrt serve --ray [ADDRESS]`). The
modules, each one concept: `parts` (cutting a plan where the model changes), `router`
(scoring workers), `index` (which worker holds which key), `worker` (what runs in each
actor), `actor` and `lane` (the Ray side of a worker), `prompt` (one prompt on the cluster),
`executor`, `events`. Importing this package imports no Ray; starting the executor does.
"""

from graphrt.distributed.events import PartRouted, WorkerLost
from graphrt.distributed.executor import RayExecutor
from graphrt.distributed.prompt import ClusterError

__all__ = ["ClusterError", "PartRouted", "RayExecutor", "WorkerLost"]
