"""The HTTP server: a thin layer over the Runtime that speaks ComfyUI's HTTP/WebSocket API.

    graphrt serve --port 8188 --state-dir ~/.local/state/graphrt

Modules: `config` (settings and limits), `queue` (the durable SQLite queue and history),
`worker` (the one thread that runs prompts), `messages` (run events → ComfyUI messages),
`hub` (WebSocket fan-out), `submit` (checking a POST /prompt), `errors` (ComfyUI-shaped
node_errors), `routes_*` and `ws` (endpoints), `app` (assembly). Importing this package
imports neither starlette nor torch; `graphrt.fronts.server.app.create_app` builds the ASGI app.
"""
