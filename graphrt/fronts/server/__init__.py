"""The HTTP server: a thin layer over the Runtime that speaks ComfyUI's HTTP/WebSocket API.

    graphrt serve --port 8188 --state-dir ~/.local/state/graphrt

Modules: `config` (settings and limits), `queue` (the durable SQLite queue and history),
`worker` (the one thread that runs prompts), `hub` (WebSocket fan-out), `submit` (checking
and planning a POST /prompt), `checks` (the expansion budget and path confinement from what
ops declare), `imagesize` (image sizes from file headers), `planning` (submissions being
planned, cancellable), `routes_*` and `ws` (endpoints, each also under /api), `userdata`
(the editor's users, settings and saved files, confined to the user's folder), `models`
(model folders and safetensors metadata), `logbuffer` (recent log lines for the editor),
`frontend` (the editor at /), `origin` (Host and Origin checks), `guard` (token, body size
and time), `timeouts` (header timeout, for uvicorn), `lock` (one server per state folder),
`app` (assembly). The editor's routes: docs/editor.md. ComfyUI's message and error shapes come from
`graphrt.compat.comfy`. Importing this package imports neither starlette nor torch;
`graphrt.fronts.server.app.create_app` builds the ASGI app.
"""
