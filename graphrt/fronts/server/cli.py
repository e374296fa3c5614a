"""`graphrt serve`: its command-line options, and running the app under uvicorn.

Parsing the options imports nothing heavy; starlette and uvicorn are imported when the
server starts, torch only when the first prompt runs. The state folder's lock is taken
before uvicorn starts, so a second server on the same folder exits at once (status 1),
saying which process holds it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from graphrt.fronts.server.config import Limits, ServerConfig, default_state_dir

LIMITS = (("max-body-bytes", "request body size"),
          ("max-nodes", "nodes per submitted graph"),
          ("max-pixels", "width × height of any image or latent, input images included"),
          ("max-steps", "sampler steps per node"), ("max-batch", "batch size"),
          ("max-expanded-nodes", "nodes a graph may expand to (counted as it expands)"),
          ("max-expansion-per-node", "nodes one node may expand to"),
          ("max-model-calls", "model calls a graph may ask for (predicted)"),
          ("max-queue", "pending prompts (then 503)"),
          ("max-history", "finished prompts kept"),
          ("history-page", "entries per GET /history answer"),
          ("max-extra-data-bytes", "a prompt's extra_data"),
          ("max-attempts", "starts a prompt may crash the server in before it is failed"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = Limits()
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8188)
    p.add_argument("--token", default=os.environ.get("GRAPHRT_TOKEN"),
                   help="require 'Authorization: Bearer TOKEN' (or ?token=) on every request")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests whose Host is NAME ('*': any); loopback names "
                   "and the bind address are always allowed")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="also take browser requests from ORIGIN, e.g. http://app.example:3000 "
                   "('*': any); same-origin requests are always allowed")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow ORIGIN and send it CORS headers (none by default)")
    p.add_argument("--state-dir", default=None,
                   help="queue, history and disk cache (default $GRAPHRT_STATE_DIR or "
                   "~/.local/state/graphrt); one server per folder")
    p.add_argument("--cache-dir", default=None, help="disk cache (default <state-dir>/cache)")
    p.add_argument("--no-disk-cache", action="store_true", help="memory cache only")
    p.add_argument("--out", "--output-dir", dest="output_dir", default=None)
    p.add_argument("--models-dir", default=None)
    p.add_argument("--input-dir", default=None)
    p.add_argument("--device", default=os.environ.get("GRAPHRT_DEVICE", "auto"),
                   help="auto, cpu, cuda, cuda:1, ... (default $GRAPHRT_DEVICE or auto)")
    p.add_argument("--dtype", default=os.environ.get("GRAPHRT_DTYPE", "auto"),
                   help="model weights on accelerators: auto (fp16), fp16, bf16, fp32")
    for name, help_ in LIMITS:
        attr = name.replace("-", "_")
        p.add_argument(f"--{name}", type=int, default=getattr(d, attr),
                       help=f"limit: {help_} (default {getattr(d, attr)})")
    p.add_argument("--max-planning-seconds", type=float, default=d.max_planning_seconds,
                   help=f"limit: seconds to check and plan one graph "
                   f"(default {d.max_planning_seconds:g})")
    p.add_argument("--header-timeout", type=float, default=10.0,
                   help="seconds a client has to send a request's headers (default 10)")
    p.add_argument("--body-timeout", type=float, default=60.0,
                   help="seconds a client has to send a request's body (default 60)")
    p.add_argument("--no-frontend", action="store_true",
                   help="do not serve the ComfyUI editor at / (the API only)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run prompts on Ray workers, one per GPU (pip install graphrt[ray]): "
                   "on the cluster at ADDRESS, or a local one started without it")
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=run)


def config_from(ns: argparse.Namespace) -> ServerConfig:
    def path(value: str | None) -> Path | None:
        return Path(value).expanduser() if value else None

    limits = Limits(**{name.replace("-", "_"): getattr(ns, name.replace("-", "_"))
                       for name, _ in LIMITS},
                    max_planning_seconds=ns.max_planning_seconds)
    return ServerConfig(state_dir=path(ns.state_dir) or default_state_dir(), token=ns.token,
                        cors_origins=tuple(ns.cors_origin),
                        allowed_hosts=tuple(ns.allow_host),
                        allowed_origins=tuple(ns.allow_origin), bind_host=ns.host,
                        header_timeout=ns.header_timeout, body_timeout=ns.body_timeout,
                        limits=limits, disk_cache=not ns.no_disk_cache,
                        cache_dir=path(ns.cache_dir), models_dir=path(ns.models_dir),
                        input_dir=path(ns.input_dir), output_dir=path(ns.output_dir),
                        device=ns.device, dtype=ns.dtype, frontend=not ns.no_frontend,
                        ray_address=ns.ray)


def run(ns: argparse.Namespace) -> int:
    import uvicorn

    from graphrt.fronts.server.app import create_app
    from graphrt.fronts.server.lock import StateLocked
    from graphrt.fronts.server.timeouts import timed_protocol

    config = config_from(ns)
    app = create_app(config)
    try:
        app.state.server.lock.acquire()
    except StateLocked as exc:
        print(f"graphrt serve: {exc}", file=sys.stderr)
        return 1
    uvicorn.run(app, host=ns.host, port=ns.port, log_level=ns.log_level,
                http=timed_protocol(config.header_timeout), timeout_graceful_shutdown=5)
    return 0
