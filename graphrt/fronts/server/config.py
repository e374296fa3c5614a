"""Server settings: folders, the state directory, access control and limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024


def default_state_dir() -> Path:
    return Path(os.environ.get("GRAPHRT_STATE_DIR") or "~/.local/state/graphrt").expanduser()


@dataclass(frozen=True)
class Limits:
    """What one request or prompt may ask for; beyond it the server refuses, saying why."""

    max_body_bytes: int = 32 * MiB  # uploads included
    max_nodes: int = 1000  # nodes in a submitted document (before macro expansion)
    max_pixels: int = 4096 * 4096  # width × height of any image or latent a node makes
    max_steps: int = 1000  # sampler steps of any node
    max_batch: int = 16
    max_queue: int = 200  # pending prompts; beyond it POST /prompt answers 503
    max_history: int = 10_000  # finished prompts kept; the oldest are pruned
    max_ws_backlog: int = 1000  # messages buffered per WebSocket client before dropping


@dataclass(frozen=True)
class ServerConfig:
    """Everything `create_app` needs. Paths left None use graphrt's defaults (env vars)."""

    state_dir: Path = field(default_factory=default_state_dir)
    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    disk_cache: bool = True
    cache_dir: Path | None = None  # default <state_dir>/cache
    models_dir: Path | None = None
    input_dir: Path | None = None
    output_dir: Path | None = None
    device: str = "auto"
    dtype: str = "auto"

    @property
    def db_path(self) -> Path:
        return self.state_dir / "queue.sqlite3"

    @property
    def effective_cache_dir(self) -> Path | None:
        if not self.disk_cache:
            return None
        return self.cache_dir or self.state_dir / "cache"
