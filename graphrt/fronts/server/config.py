"""Server settings: folders, the state directory, access control, limits and timeouts."""

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
    max_pixels: int = 4096 * 4096  # width × height of any image or latent a node makes or reads
    max_steps: int = 1000  # sampler steps of any node
    max_batch: int = 16
    max_expanded_nodes: int = 10_000  # nodes a document may expand to, counted as it expands
    max_expansion_per_node: int = 5_000  # nodes one document node may expand to
    max_model_calls: int = 20_000  # model evaluations a document may ask for (predicted)
    max_planning_seconds: float = 15.0  # checking and planning one document
    max_planning: int = 2  # documents checked and planned at once (others wait)
    max_queue: int = 200  # pending prompts; beyond it POST /prompt answers 503
    max_history: int = 10_000  # finished prompts kept; the oldest are pruned
    history_page: int = 200  # entries per GET /history page (the most, and the default)
    max_history_bytes: int = 16 * MiB  # stored bytes read for one GET /history answer
    max_extra_data_bytes: int = 1 * MiB  # a prompt's extra_data, as JSON
    max_attempts: int = 2  # runs of a prompt the server died during, before it is failed
    max_ws_backlog: int = 1000  # messages buffered per WebSocket client before dropping
    max_userdata_file_bytes: int = 16 * MiB  # one file the editor saves (a workflow)
    max_userdata_bytes: int = 512 * MiB  # all of a user's files together
    max_userdata_files: int = 10_000  # files in a user's folder (and entries per listing)
    max_settings_bytes: int = 2 * MiB  # a user's settings, as JSON
    max_users: int = 100  # users POST /users may create


@dataclass(frozen=True)
class ServerConfig:
    """Everything `create_app` needs. Paths left None use graphrt's defaults (env vars).

    Requests are served only to Hosts in `allowed_hosts` (loopback names and addresses,
    the bind address, and those listed; "*" for any) and, from browsers, only same-origin
    or from `allowed_origins` (and `cors_origins`; "*" for any)."""

    state_dir: Path = field(default_factory=default_state_dir)
    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    bind_host: str = "127.0.0.1"
    header_timeout: float = 10.0  # seconds to send a request's headers
    body_timeout: float = 60.0  # seconds to send a request's body
    limits: Limits = field(default_factory=Limits)
    disk_cache: bool = True
    cache_dir: Path | None = None  # default <state_dir>/cache
    models_dir: Path | None = None
    input_dir: Path | None = None
    output_dir: Path | None = None
    device: str = "auto"
    dtype: str = "auto"
    ray_address: str | None = None  # run prompts on Ray workers: "local" starts a cluster
    frontend: bool = True  # serve the ComfyUI editor at / (`--no-frontend` turns it off)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "queue.sqlite3"

    @property
    def effective_cache_dir(self) -> Path | None:
        if not self.disk_cache:
            return None
        return self.cache_dir or self.state_dir / "cache"
