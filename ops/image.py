"""image.* — IMAGE values: float [B,H,W,3] in [0,1]. Loading, saving, scaling, blending.

`image.save` writes PNGs into the output folder with the graph and its args embedded as
metadata ("graphrt" text chunk), so an output can be rerun: `graphrt run output.png`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import Field, field_validator

from graphrt.core.context import OpContext
from graphrt.core.hints import Cost, FileParam
from graphrt.core.op import NoParams, Params, op
from graphrt.core.paths import Folders, UnsafePath, confined
from graphrt.core.types import Files

from .types import Image, Mask, UpscaleModel

MAX_SIDE = 16384
METADATA_KEY = "graphrt"


class Loaded(NamedTuple):
    image: Image
    mask: Mask


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
INPUT_IMAGE = FileParam("name", "input", builtin=("example.png",), suffixes=IMAGE_SUFFIXES)
SAVED_IMAGE = FileParam("prefix", "output", template="{}_00000_.png")


class Load(Params):
    name: str = Field(min_length=1, max_length=1024, description="a file in <input>")


def input_path(folders: Folders, name: str) -> Path:
    """A file in the input folder; else one of the example inputs shipped with graphrt
    (as ComfyUI ships input/example.png), so the example graphs run on a fresh install."""
    path = folders.file(INPUT_IMAGE.folder, name)
    if path.exists():
        return path
    shipped = confined(Path(str(resources.files("graphrt.graphs"))) / "input", name)
    return shipped if shipped.is_file() else path


def input_fingerprint(p: Any, folders: Folders) -> Any:
    """Key an input file (`p.name`) by its content: inputs are small, hashing them is cheap
    and survives copies and touches."""
    from .model import file_identity

    return file_identity(input_path(folders, p.name), True)


@op("image.load", version=1, fingerprint=input_fingerprint, files=(INPUT_IMAGE,))
def load(p: Load, *, ctx: OpContext) -> Loaded:
    """An image from the input folder, and its mask (1 − alpha) (LoadImage)."""
    from .kernels.imaging import read_png

    image, mask, _ = read_png(input_path(ctx.folders, p.name))
    return Loaded(image, mask)


class Save(Params):
    prefix: str = Field("graphrt", min_length=1, max_length=128, pattern=r"^[\w\-. /]+$",
                        description="file name prefix, may include a subfolder")

    @field_validator("prefix")
    @classmethod
    def _names_a_file_inside(cls, prefix: str) -> str:
        check_prefix(prefix)
        return prefix


NAME_MAX = 255  # bytes in one path component
_NOWHERE = Path("/nonexistent/graphrt/output")  # no such folder: the check is on the name


def check_prefix(prefix: str) -> None:
    """Refuse, with ValueError, the prefixes a run refuses for their name alone: the run's
    own check (`confined`) on a folder that does not exist, and components the file
    system would refuse as too long."""
    name = SAVED_IMAGE.file_name(prefix)
    try:
        confined(_NOWHERE, name)
    except UnsafePath:
        raise ValueError(f"prefix {prefix!r} would leave the output folder") from None
    if any(len(part.encode()) > NAME_MAX for part in name.split("/")):
        raise ValueError(f"a folder or file name in the prefix is over {NAME_MAX} bytes")


class Saved(NamedTuple):
    images: Files


def _save_fingerprint(p: Save, folders: Folders) -> Any:
    return str(folders.output.resolve())


@op("image.save", version=1, fingerprint=_save_fingerprint, files=(SAVED_IMAGE,),
    output=True)
def save(p: Save, images: Image, *, ctx: OpContext) -> Saved:
    """Write each image as <prefix>_NNNNN_.png in the output folder; returns the paths
    relative to it (SaveImage)."""
    from .kernels.imaging import png_bytes

    folders = ctx.folders
    first = folders.file(SAVED_IMAGE.folder, SAVED_IMAGE.file_name(p.prefix))
    first.parent.mkdir(parents=True, exist_ok=True)
    stem = first.name[: -len("_00000_.png")]
    pattern = re.compile(rf"^{re.escape(stem)}_(\d+)_\.png$")
    taken = [int(m.group(1)) for f in first.parent.iterdir() if (m := pattern.match(f.name))]
    counter = max(taken, default=0) + 1
    meta = {METADATA_KEY: json.dumps(ctx.document)} if ctx.document else {}
    written = []
    for image in images:
        path, counter = _reserve(first.parent, stem, counter)
        tmp = path.with_suffix(".png.tmp")
        try:
            tmp.write_bytes(png_bytes(image, meta))
            tmp.replace(path)  # our own reservation: the content appears at once
        except BaseException:
            for leftover in (tmp, path):
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)
            raise
        written.append(str(path.relative_to(folders.output.resolve())))
        counter += 1
    return Saved(written)


def _reserve(folder: Path, stem: str, counter: int) -> tuple[Path, int]:
    """The first free <stem>_NNNNN_.png from `counter` on, created empty (O_EXCL), so two
    runs sharing a folder never pick, nor overwrite, the same file."""
    while True:
        path = folder / f"{stem}_{counter:05}_.png"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            counter += 1
            continue
        return path, counter


class Scale(Params):
    method: Literal["nearest-exact", "bilinear", "area", "bicubic", "lanczos"] = "bicubic"
    width: int = Field(512, ge=0, le=MAX_SIDE, description="0 keeps the aspect ratio")
    height: int = Field(512, ge=0, le=MAX_SIDE, description="0 keeps the aspect ratio")
    crop: Literal["disabled", "center"] = "disabled"


def _scale_cost(p: Scale) -> Cost:
    return Cost(pixels=p.width * p.height)


@op("image.scale", version=1, cost=_scale_cost)
def scale(p: Scale, image: Image) -> Image:
    """Resize (ImageScale); bicubic output is not clamped, as in ComfyUI."""
    from .kernels.imaging import scale_image

    if p.width == 0 and p.height == 0:
        return image
    return scale_image(image, p.width, p.height, p.method, p.crop)


class Blend(Params):
    factor: float = Field(0.5, ge=0.0, le=1.0)
    mode: Literal["normal", "multiply", "screen", "overlay", "soft_light", "difference"] = \
        "normal"


@op("image.blend", version=1)
def blend(p: Blend, image1: Image, image2: Image) -> Image:
    """image1·(1 − factor) + mode(image1, image2)·factor, clamped (ImageBlend)."""
    from .kernels.imaging import blend_images

    return blend_images(image1, image2, p.factor, p.mode)


class UpscaleWithModel(Params):
    tile: int = Field(512, ge=64, le=4096)
    overlap: int = Field(32, ge=0, le=512)


@op("image.upscale_with_model", version=2, device=True)
def upscale_with_model(p: UpscaleWithModel, upscale_model: UpscaleModel, image: Image) -> Image:
    """Upscale with an ESRGAN-family model in overlapping tiles (ImageUpscaleWithModel)."""
    from .models.upscale import upscale_tiled

    return upscale_tiled(upscale_model, image, p.tile, p.overlap)



class ScaleBy(Params):
    method: Literal["nearest-exact", "bilinear", "area", "bicubic", "lanczos"] = \
        "nearest-exact"
    scale_by: float = Field(1.0, ge=0.01, le=8.0)


@op("image.scale_by", version=1)
def scale_by(p: ScaleBy, image: Image) -> Image:
    """Resize by a factor: sides round(side · scale_by) (ImageScaleBy); not clamped."""
    from .kernels.imaging import resize_planes

    h, w = image.shape[1], image.shape[2]
    out = resize_planes(image.movedim(-1, 1), round(w * p.scale_by), round(h * p.scale_by),
                        p.method, "disabled")
    return out.movedim(1, -1)


@op("image.invert", version=1)
def invert(p: NoParams, image: Image) -> Image:
    """1 − image (ImageInvert)."""
    return 1.0 - image


class Crop(Params):
    width: int = Field(512, ge=1, le=MAX_SIDE)
    height: int = Field(512, ge=1, le=MAX_SIDE)
    x: int = Field(0, ge=0, le=MAX_SIDE)
    y: int = Field(0, ge=0, le=MAX_SIDE)


@op("image.crop", version=1)
def crop(p: Crop, image: Image) -> Image:
    """The width×height rectangle at (x, y), cut at the image's edges; x and y are first
    clamped to the last column and row, so the result is never empty (ImageCrop)."""
    x, y = min(p.x, image.shape[2] - 1), min(p.y, image.shape[1] - 1)
    return image[:, y : y + p.height, x : x + p.width].clone()


class Empty(Params):
    width: int = Field(512, ge=1, le=MAX_SIDE)
    height: int = Field(512, ge=1, le=MAX_SIDE)
    batch: int = Field(1, ge=1, le=4096)
    color: int = Field(0, ge=0, le=0xFFFFFF, description="0xRRGGBB")


def _empty_cost(p: Empty) -> Cost:
    return Cost(pixels=p.width * p.height, batch=p.batch)


@op("image.empty", version=1, cost=_empty_cost)
def empty(p: Empty) -> Image:
    """A [batch, height, width, 3] image of one colour, each channel byte / 255 (EmptyImage)."""
    import torch

    channels = [((p.color >> s) & 0xFF) / 0xFF for s in (16, 8, 0)]
    return torch.cat([torch.full((p.batch, p.height, p.width, 1), c) for c in channels], -1)


class Edges(Params):
    """Widths in pixels at each edge (image.pad_for_outpaint, mask.feather)."""

    left: int = Field(0, ge=0, le=MAX_SIDE)
    top: int = Field(0, ge=0, le=MAX_SIDE)
    right: int = Field(0, ge=0, le=MAX_SIDE)
    bottom: int = Field(0, ge=0, le=MAX_SIDE)


class PadForOutpaint(Edges):
    feathering: int = Field(40, ge=0, le=MAX_SIDE)


@op("image.pad_for_outpaint", version=1)
def pad_for_outpaint(p: PadForOutpaint, image: Image) -> Loaded:
    """Pad with grey (0.5) and return the mask [H', W'] of what to paint: 1 on the padding,
    fading into the image over `feathering` pixels from each padded side
    (ImagePadForOutpaint; see kernels.comfy_masks.outpaint_mask)."""
    import torch

    from .kernels.comfy_masks import outpaint_mask

    b, h, w, c = image.shape
    out = torch.full((b, h + p.top + p.bottom, w + p.left + p.right, c), 0.5,
                     device=image.device)
    out[:, p.top : p.top + h, p.left : p.left + w] = image
    mask = outpaint_mask(h, w, p.top, p.bottom, p.left, p.right, p.feathering, image.device)
    return Loaded(out, mask)
