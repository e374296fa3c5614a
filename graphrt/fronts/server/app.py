"""Assembly: the Server (runtime, durable queue, hub, worker) and its Starlette app.

    from graphrt.fronts.server.app import create_app
    app = create_app(ServerConfig(state_dir=Path("state")))   # any ASGI server can host it

Starting the app (its lifespan) re-queues a prompt left running by a crash and starts the
worker; stopping it interrupts the running prompt, which the next start re-queues.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from graphrt.core.runtime import Runtime
from graphrt.fronts.server import routes_files, routes_info, routes_prompt, ws
from graphrt.fronts.server.config import ServerConfig
from graphrt.fronts.server.guard import Guard
from graphrt.fronts.server.hub import Hub
from graphrt.fronts.server.queue import PromptQueue
from graphrt.fronts.server.worker import Worker
from graphrt.library import Runtime as default_runtime


class Server:
    """The long-lived parts of a running server; one Runtime (and cache) for all prompts."""

    def __init__(self, config: ServerConfig, runtime: Runtime | None = None) -> None:
        self.config = config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.runtime = runtime or default_runtime(
            cache_dir=config.effective_cache_dir, models_dir=config.models_dir,
            input_dir=config.input_dir, output_dir=config.output_dir, device=config.device,
            dtype=config.dtype)
        self.queue = PromptQueue(config.db_path, max_history=config.limits.max_history)
        self.hub = Hub(config.limits.max_ws_backlog)
        self.worker = Worker(self.runtime, self.queue, self.hub)
        self.recovered: list[str] = []

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.hub.bind(loop)
        self.recovered = self.queue.recover()
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.queue.close()


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

    middleware = [Middleware(Guard, token=config.token, max_body=config.limits.max_body_bytes)]
    if config.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["*"]))
    routes: list[Any] = [*routes_prompt.routes, *routes_files.routes, *routes_info.routes,
                         *ws.routes]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.server = server
    return app
