"""The HTTP server: a thin layer over the Runtime that speaks ComfyUI's HTTP/WebSocket API.

    graphrt serve --port 8188 --state-dir ~/.local/state/graphrt

Modules: `config` (settings and limits), `queue` (the durable SQLite queue and history),
`worker` (the one thread that runs prompts), `hub` (WebSocket fan-out), `submit` (checking
and planning a POST /prompt), `checks` (the expansion budget and path confinement from what
ops declare), `imagesize` (image sizes from file headers), `planning` (submissions being
planned, cancellable), `routes_*` and `ws` (endpoints), `origin` (Host and Origin checks),
`guard` (token, body size and time), `timeouts` (header timeout, for uvicorn), `lock` (one
server per state folder), `app` (assembly). ComfyUI's message and error shapes come from
`graphrt.compat.comfy`. Importing this package imports neither starlette nor torch;
`graphrt.fronts.server.app.create_app` builds the ASGI app.
"""
