"""GET /object_info: the supported ComfyUI classes in ComfyUI's shape.

Built from the class table (graphrt.formats.comfy_nodes) and each op's params schema, so
ranges and enum values are the ones validation enforces. File lists (checkpoints, upscale
models, input images) are read from the configured folders when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..formats.comfy_nodes import CLASSES, REQUIRED, In, NodeClass
from ..paths import Folders
from ..registry import Registry

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")


def list_files(folder: Path, suffixes: tuple[str, ...]) -> list[str]:
    """Names of the files under `folder` (relative, '/'-separated), sorted."""
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)).replace("\\", "/") for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in suffixes)


def _file_options(cls_name: str, folders: Folders) -> list[str] | None:
    if cls_name == "CheckpointLoaderSimple":
        return ["toy-shapes", "toy-shapes-refiner",
                *list_files(folders.models / "checkpoints", MODEL_SUFFIXES)]
    if cls_name == "UpscaleModelLoader":
        return list_files(folders.models / "upscale_models", MODEL_SUFFIXES)
    if cls_name == "LoadImage":
        return list_files(folders.input, IMAGE_SUFFIXES)
    return None


def _input(cls_name: str, spec: In, props: dict[str, Any], folders: Folders) -> list[Any]:
    if spec.is_link:
        return [spec.type]
    prop = props.get(spec.to, {})
    default = spec.default if spec.default is not REQUIRED else prop.get("default")
    opts: dict[str, Any] = {**spec.extra}
    if default is not None:
        opts["default"] = default
    if spec.type == "COMBO":
        options = list(spec.options) or prop.get("enum") or _file_options(cls_name, folders)
        return [options or [], opts]
    for key, name in (("minimum", "min"), ("maximum", "max"), ("multipleOf", "step")):
        if key in prop:
            opts[name] = prop[key]
    if spec.type == "FLOAT":
        opts.setdefault("step", 0.01)
    return [spec.type, opts]


def class_info(name: str, cls: NodeClass, registry: Registry, folders: Folders) -> dict[str, Any]:
    spec = registry.get(cls.op)
    props = spec.params.model_json_schema().get("properties", {}) if spec else {}
    required: dict[str, Any] = {}
    optional: dict[str, Any] = {}
    for item in cls.inputs:
        (optional if item.optional else required)[item.name] = _input(name, item, props,
                                                                      folders)
    return {
        "input": {"required": required, "optional": optional},
        "input_order": {"required": list(required), "optional": list(optional)},
        "output": [t for t, _ in cls.outputs], "output_is_list": [False] * len(cls.outputs),
        "output_name": [t for t, _ in cls.outputs], "name": name,
        "display_name": cls.display_name or name,
        "description": spec.description if spec else "", "python_module": "graphrt",
        "category": cls.category, "output_node": cls.output_node,
        "graphrt_op": cls.op,
    }


def object_info(registry: Registry, folders: Folders, only: str | None = None) -> dict[str, Any]:
    names = [only] if only is not None else list(CLASSES)
    return {n: class_info(n, CLASSES[n], registry, folders) for n in names
            if n in CLASSES and registry.get(CLASSES[n].op) is not None}
