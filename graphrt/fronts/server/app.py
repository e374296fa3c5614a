"""Assembly: the Server (runtime, durable queue, hub, worker) and its Starlette app.

    from graphrt.fronts.server.app import create_app
    app = create_app(ServerConfig(state_dir=Path("state")))   # any ASGI server can host it

Starting the app (its lifespan) takes the state folder's lock (a second server on the same
folder fails to start, saying why), re-queues the prompts left running by a crash (or fails
one, when the server died during it too often), and starts the worker; stopping it
interrupts the running prompts, which go back in the queue for the next start. Requests pass, in
order: the Host and Origin check (`origin`), CORS when configured, the token and the body
limits (`guard`). A storage fault in any route answers 503 (`error.type`
storage_unavailable), never 500.

Every route, the WebSocket included, is served both as itself and under /api (`/api/prompt`,
`/api/ws`), as ComfyUI does: its editor calls `/api/...`, older clients the bare paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from graphrt.compat.comfy.node_errors import redact, simple_error
from graphrt.core.plan import Plan
from graphrt.core.runtime import Runtime
from graphrt.fronts.server import (
    frontend,
    routes_files,
    routes_info,
    routes_internal,
    routes_jobs,
    routes_prompt,
    routes_system,
    routes_user,
    ws,
)
from graphrt.fronts.server.config import ServerConfig
from graphrt.fronts.server.guard import Guard
from graphrt.fronts.server.hub import Hub
from graphrt.fronts.server.lock import StateLock
from graphrt.fronts.server.logbuffer import LogBuffer
from graphrt.fronts.server.origin import HostPolicy, OriginGuard
from graphrt.fronts.server.planning import Planning
from graphrt.fronts.server.queue import PromptQueue, PromptRow
from graphrt.fronts.server.submit import prepare, stored_submission
from graphrt.fronts.server.userdata import UserStore
from graphrt.fronts.server.worker import Worker
from graphrt.library import Runtime as default_runtime

log = logging.getLogger("graphrt.fronts.server")
T = TypeVar("T")


class Server:
    """The long-lived parts of a running server; one Runtime (and cache) for all prompts."""

    def __init__(self, config: ServerConfig, runtime: Runtime | None = None) -> None:
        self.config = config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.lock = StateLock(config.state_dir)
        executor = None
        if config.ray_address is not None and runtime is None:  # Ray only when asked for
            from graphrt.distributed import RayExecutor

            executor = RayExecutor(config.ray_address)
        self.runtime = runtime or default_runtime(
            cache_dir=config.effective_cache_dir, models_dir=config.models_dir,
            input_dir=config.input_dir, output_dir=config.output_dir, device=config.device,
            dtype=config.dtype, executor=executor)
        folders = self.runtime.folders
        self.roots: Mapping[str, Path] = {
            "models": folders.models, "input": folders.input, "output": folders.output,
            "state": config.state_dir, **({"cache": config.effective_cache_dir}
                                          if config.effective_cache_dir else {})}
        self.queue = PromptQueue(config.db_path, max_history=config.limits.max_history)
        self.hub = Hub(config.limits.max_ws_backlog)
        self.users = UserStore(config.state_dir / "users", config.limits)
        self.logs = LogBuffer(self.hub, self.redact)
        self.planning = Planning()
        self.worker = Worker(self.runtime, self.queue, self.hub, prepare=self._prepare_again,
                             redact=self.redact)
        self.recovered: list[str] = []
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def planners(self) -> anyio.CapacityLimiter:
        """Threads that may check and plan documents at once (created in the event loop)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.config.limits.max_planning)
        return self._limiter

    def redact(self, body: T) -> T:
        """`body` with this server's folders named, not spelled out."""
        return redact(body, self.roots)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.lock.acquire()
        self.hub.bind(loop)
        self.logs.install()
        self.recovered, spent = self.queue.recover(self.config.limits.max_attempts)
        for row in spent:
            log.error("prompt %s was running when the server stopped %d times; failing it",
                      row.id, row.attempts)
            self.worker.give_up(row, f"the server stopped {row.attempts} times while running "
                                "this prompt; it is not run again")
        self.worker.start()

    def stop(self) -> None:
        self.logs.uninstall()
        self.worker.stop()
        self.queue.close()
        self.lock.release()

    def _prepare_again(self, row: PromptRow, cancel: Any) -> Plan:
        """Plan a recovered prompt within the same limits as a submission."""
        return prepare(stored_submission(row.body), self.runtime, self.config.limits,
                       cancel=cancel)


async def storage_unavailable(request: Request, exc: Exception) -> Response:
    """A storage fault (a full or read-only state disk, an I/O error): 503, never 500."""
    log.error("state storage failed: %s", exc)
    return JSONResponse(simple_error("storage_unavailable", "the server cannot read or write "
                                     "its state right now; try again later",
                                     f"{type(exc).__name__}: {exc}"),
                        status_code=503, headers={"Retry-After": "30"})


def with_api_prefix(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The routes, then each again under /api (same endpoint and methods)."""
    prefixed: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route):
            prefixed.append(Route("/api" + route.path, route.endpoint, methods=route.methods,
                                  name=f"api:{route.name}"))
        elif isinstance(route, WebSocketRoute):
            prefixed.append(WebSocketRoute("/api" + route.path, route.endpoint,
                                           name=f"api:{route.name}"))
    return [*routes, *prefixed]


def create_app(config: ServerConfig | None = None, *, runtime: Runtime | None = None) -> Starlette:
    """The ASGI app; the server starts with the app's lifespan."""
    config = config or ServerConfig()
    server = Server(config, runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        server.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, server.stop)

    policy = HostPolicy(config.bind_host, config.allowed_hosts,
                        (*config.allowed_origins, *config.cors_origins))
    middleware = [Middleware(OriginGuard, policy=policy)]
    if config.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST", "DELETE", "PATCH"],
                                     allow_headers=["*"]))
    middleware.append(Middleware(Guard, token=config.token, max_body=config.limits.max_body_bytes,
                                 body_timeout=config.body_timeout))
    routes: list[Any] = with_api_prefix([
        *routes_prompt.routes, *routes_files.routes, *routes_info.routes, *routes_jobs.routes,
        *routes_user.routes, *routes_system.routes, *routes_internal.routes, *ws.routes])
    app = Starlette(routes=frontend.wrap(routes, config), middleware=middleware,
                    lifespan=lifespan, exception_handlers={sqlite3.Error: storage_unavailable})
    app.state.server = server
    return app
