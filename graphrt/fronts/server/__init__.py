"""The HTTP server: a thin layer over the Runtime that speaks ComfyUI's HTTP/WebSocket API.

    graphrt serve --port 8188 --state-dir ~/.local/state/graphrt

Modules: `config` (settings and limits), `queue` (the durable SQLite queue and history),
`worker` (the one thread that runs prompts), `hub` (WebSocket fan-out), `submit` (checking
and planning a POST /prompt), `checks` (limits and path confinement from what ops declare),
`routes_*` and `ws` (endpoints), `app` (assembly). ComfyUI's message and error shapes come
from `graphrt.compat.comfy`. Importing this package imports neither starlette nor torch;
`graphrt.fronts.server.app.create_app` builds the ASGI app.
"""
