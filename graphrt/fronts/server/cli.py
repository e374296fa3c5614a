"""`graphrt serve`: its command-line options, and running the app under uvicorn.

Parsing the options imports nothing heavy; starlette and uvicorn are imported when the
server starts, torch only when the first prompt runs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from graphrt.fronts.server.config import Limits, ServerConfig, default_state_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = Limits()
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8188)
    p.add_argument("--token", default=os.environ.get("GRAPHRT_TOKEN"),
                   help="require 'Authorization: Bearer TOKEN' (or ?token=) on every request")
    p.add_argument("--state-dir", default=None,
                   help="queue, history and disk cache (default $GRAPHRT_STATE_DIR or "
                   "~/.local/state/graphrt)")
    p.add_argument("--cache-dir", default=None, help="disk cache (default <state-dir>/cache)")
    p.add_argument("--no-disk-cache", action="store_true", help="memory cache only")
    p.add_argument("--out", "--output-dir", dest="output_dir", default=None)
    p.add_argument("--models-dir", default=None)
    p.add_argument("--input-dir", default=None)
    p.add_argument("--device", default=os.environ.get("GRAPHRT_DEVICE", "auto"),
                   help="auto, cpu, cuda, cuda:1, ... (default $GRAPHRT_DEVICE or auto)")
    p.add_argument("--dtype", default=os.environ.get("GRAPHRT_DTYPE", "auto"),
                   help="model weights on accelerators: auto (fp16), fp16, bf16, fp32")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow cross-origin requests from ORIGIN (none by default)")
    for name, help_ in (("max-body-bytes", "request body size"),
                        ("max-nodes", "nodes per submitted graph"),
                        ("max-pixels", "width × height of any image or latent"),
                        ("max-steps", "sampler steps per node"), ("max-batch", "batch size"),
                        ("max-queue", "pending prompts (then 503)"),
                        ("max-history", "finished prompts kept")):
        attr = name.replace("-", "_")
        p.add_argument(f"--{name}", type=int, default=getattr(d, attr),
                       help=f"limit: {help_} (default {getattr(d, attr)})")
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=run)


def config_from(ns: argparse.Namespace) -> ServerConfig:
    def path(value: str | None) -> Path | None:
        return Path(value).expanduser() if value else None

    limits = Limits(max_body_bytes=ns.max_body_bytes, max_nodes=ns.max_nodes,
                    max_pixels=ns.max_pixels, max_steps=ns.max_steps, max_batch=ns.max_batch,
                    max_queue=ns.max_queue, max_history=ns.max_history)
    return ServerConfig(state_dir=path(ns.state_dir) or default_state_dir(), token=ns.token,
                        cors_origins=tuple(ns.cors_origin), limits=limits,
                        disk_cache=not ns.no_disk_cache, cache_dir=path(ns.cache_dir),
                        models_dir=path(ns.models_dir), input_dir=path(ns.input_dir),
                        output_dir=path(ns.output_dir), device=ns.device,
                        dtype=ns.dtype)


def run(ns: argparse.Namespace) -> int:
    import uvicorn

    from graphrt.fronts.server.app import create_app

    app = create_app(config_from(ns))
    uvicorn.run(app, host=ns.host, port=ns.port, log_level=ns.log_level,
                timeout_graceful_shutdown=5)
    return 0
