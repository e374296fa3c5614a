"""Files: GET /view (outputs and inputs) and POST /upload/image, confined to their folders.

    GET  /view?filename=ComfyUI_00001_.png&subfolder=&type=output
    POST /upload/image   multipart: image=<file>, subfolder=, type=input, overwrite=false
         → {"name", "subfolder", "type"}

Every name goes through `graphrt.core.paths.confined`: absolute paths, '..', NUL, drive letters
and symlinks that leave the folder are refused with 400, the folder named, not spelled out.
`temp` is accepted as a synonym of `output` (PreviewImage writes into <output>/previews).
An input that is not in <input> is looked up among the inputs graphrt ships (`example.png`,
which LoadImage offers and the built-in graphs use), as the op that loads it does.
An upload is measured from its header (never decoded) and refused when it has more pixels
than the server's limit.
"""

from __future__ import annotations

import io
import mimetypes
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from graphrt.compat.comfy.node_errors import simple_error
from graphrt.core.paths import UnsafePath, confined
from graphrt.fronts.server.imagesize import read_size
from graphrt.fronts.server.multipart import parse_form

if TYPE_CHECKING:
    from graphrt.fronts.server.app import Server

FILE_NAME_RE = re.compile(r"^[^/\\\x00-\x1f:*?\"<>|]{1,255}$")
UPLOAD_NAME_RE = re.compile(r"^\w[\w\-. ()\[\]]{0,254}$")  # plain names only, no '%'
UPLOAD_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


def _refuse(kind: str, message: str, status: int = 400, server: Server | None = None
            ) -> Response:
    body = simple_error(kind, message)
    return JSONResponse(server.redact(body) if server else body, status_code=status)


def _folder(server: Server, kind: str) -> Path | None:
    folders = server.runtime.folders
    return {"output": folders.output, "temp": folders.output, "input": folders.input}.get(kind)


def shipped_inputs() -> Path:
    """The folder of the example inputs shipped with graphrt (graphrt.graphs/input)."""
    return Path(str(resources.files("graphrt.graphs"))) / "input"


def resolve(server: Server, kind: str, subfolder: str, filename: str) -> Path:
    """The file a (type, subfolder, filename) triple names; raises UnsafePath."""
    folder = _folder(server, kind)
    if folder is None:
        raise UnsafePath(f"unknown type {kind!r} (output, input or temp)")
    if not FILE_NAME_RE.match(filename) or filename in (".", ".."):
        raise UnsafePath(f"invalid file name {filename!r}")
    if subfolder:
        confined(folder, subfolder)
    return confined(folder, f"{subfolder}/{filename}" if subfolder else filename)


async def view(request: Request) -> Response:
    server: Server = request.app.state.server
    q = request.query_params
    filename = q.get("filename")
    if not filename:
        return _refuse("invalid_request", "filename is required")
    try:
        path = resolve(server, q.get("type") or "output", q.get("subfolder") or "", filename)
    except UnsafePath as exc:
        return _refuse("unsafe_path", str(exc), server=server)
    if not path.is_file() and q.get("type") == "input" and not q.get("subfolder"):
        path = confined(shipped_inputs(), filename)  # the name passed resolve's checks
    if not path.is_file():
        return _refuse("not_found", f"no file {filename!r}", 404)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media)


async def upload_image(request: Request) -> Response:
    server: Server = request.app.state.server
    form = parse_form(request.headers.get("content-type", ""), await request.body())
    image = form.get("image")
    if image is None or not image.filename:
        return _refuse("invalid_request", "expected a multipart form with a file field 'image'")
    kind = form["type"].text if "type" in form else "input"
    subfolder = form["subfolder"].text if "subfolder" in form else ""
    overwrite = "overwrite" in form and form["overwrite"].text.lower() in ("true", "1")
    if not UPLOAD_NAME_RE.match(image.filename):
        return _refuse("unsafe_path", f"invalid file name {image.filename!r} (letters, "
                       "digits, spaces and -_.()[] only)")
    if not image.filename.lower().endswith(UPLOAD_SUFFIXES):
        return _refuse("invalid_file", f"{image.filename!r} is not an image file name "
                       f"({', '.join(UPLOAD_SUFFIXES)})")
    try:
        path = resolve(server, kind, subfolder, image.filename)
    except UnsafePath as exc:
        return _refuse("unsafe_path", str(exc), server=server)
    limit = server.config.limits.max_pixels
    size = await run_in_threadpool(read_size, io.BytesIO(image.data))
    if size is not None and size[0] * size[1] > limit:
        return _refuse("image_too_large", f"the image is {size[0]} × {size[1]} pixels, over "
                       f"this server's limit of {limit} pixels")
    name = await run_in_threadpool(_write, path, image.data, overwrite)
    return JSONResponse({"name": name, "subfolder": subfolder, "type": kind})


def _write(path: Path, data: bytes, overwrite: bool) -> str:
    """Write atomically; without `overwrite`, an existing name becomes "name (1).png"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target, i = path, 1
    while not overwrite and target.exists():
        target = path.with_name(f"{path.stem} ({i}){path.suffix}")
        i += 1
    tmp = target.with_name(f".{target.name}.upload")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target.name


routes = [
    Route("/view", view, methods=["GET"]),
    Route("/upload/image", upload_image, methods=["POST"]),
]
