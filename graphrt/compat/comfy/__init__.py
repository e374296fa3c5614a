"""ComfyUI compatibility: the class table and translation to native ops, `/object_info`,
error bodies, WebSocket messages and UI outputs in ComfyUI's shapes."""
