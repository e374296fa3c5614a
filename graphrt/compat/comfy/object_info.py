"""GET /object_info: the supported ComfyUI classes in ComfyUI's shape.

Built from the class table (graphrt.compat.comfy.classes) and each op's params schema, so
ranges and enum values are the ones validation enforces. A widget that feeds a file param
an op declares (`FileParam`) lists the op's built-in names and the files of its folder, read
when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphrt.compat.comfy.classes import CLASSES, REQUIRED, In, NodeClass
from graphrt.compat.comfy.classes_searge import FOLDED_CLASSES
from graphrt.compat.comfy.classes_searge_pipeline import CHOICES_FROM
from graphrt.compat.comfy.ui import SEED_WIDGETS
from graphrt.core.hints import FileParam
from graphrt.core.op import OpSpec
from graphrt.core.paths import Folders
from graphrt.core.registry import Registry


def list_files(folder: Path, suffixes: tuple[str, ...]) -> list[str]:
    """Names of the files under `folder` (relative, '/'-separated), sorted; every file when
    `suffixes` is empty."""
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)).replace("\\", "/") for p in folder.rglob("*")
                  if p.is_file() and (not suffixes or p.suffix.lower() in suffixes))


def file_choices(fp: FileParam, folders: Folders) -> list[str]:
    """The names a file param accepts: the op's built-in ones, its folder's files, then the
    names it derives from files elsewhere."""
    derived = list(fp.derived(folders)) if fp.derived is not None else []
    try:
        folder = folders.folder(fp.folder)
    except ValueError:
        return [*fp.builtin, *derived]
    return list(dict.fromkeys([*fp.builtin, *list_files(folder, fp.suffixes), *derived]))


def _file_options(spec: OpSpec | None, param: str, folders: Folders) -> list[str] | None:
    fp = next((f for f in spec.files if f.param == param), None) if spec else None
    return None if fp is None or fp.folder == "output" else file_choices(fp, folders)


def _input(op: OpSpec | None, spec: In, props: dict[str, Any], folders: Folders) -> list[Any]:
    if spec.is_link:
        return [spec.type]
    prop = props.get(spec.to, {})
    default = spec.default if spec.default is not REQUIRED else prop.get("default")
    opts: dict[str, Any] = {**spec.extra}
    if default is not None:
        opts["default"] = default
    if spec.name in SEED_WIDGETS and spec.type == "INT":
        opts["control_after_generate"] = True  # the editor adds its fixed/randomize widget
    if spec.type == "COMBO":
        options = list(spec.options) or prop.get("enum") or _file_options(op, spec.to, folders)
        return [options or [], opts]
    for key, name in (("minimum", "min"), ("maximum", "max"), ("multipleOf", "step")):
        if key in prop:
            opts[name] = prop[key]
    if spec.type == "FLOAT":
        opts.setdefault("step", 0.01)
    return [spec.type, opts]


# The custom-node packs the non-core classes come from (python_module as ComfyUI reports it,
# so the editor badges core classes as core and these as their pack's).
IMPACT = ("RegionalSamplerAdvanced", "TwoAdvancedSamplersForMask", "RegionalSampler",
          "KSamplerAdvancedProvider", "KSamplerProvider", "TwoSamplersForMask", "RegionalPrompt",
          "CombineRegionalPrompts", "ToBasicPipe", "FromBasicPipe", "FromBasicPipe_v2",
          "EditBasicPipe", "PreviewBridge")
NOISE = ("Unsampler", "BNK_Unsampler", "BNK_NoisyLatentImage", "BNK_DuplicateBatchIndex",
         "BNK_SlerpLatent", "BNK_GetSigma", "BNK_InjectNoise")
PACKS = {"SeargeSDXLSampler2": "SeargeSDXL", "SeargeSDXLImage2ImageSampler": "SeargeSDXL",
         "SeargeSDXLSampler": "SeargeSDXL", **dict.fromkeys(FOLDED_CLASSES, "SeargeSDXL"),
         **dict.fromkeys(NOISE, "ComfyUI_Noise"), **dict.fromkeys(IMPACT, "ComfyUI-Impact-Pack")}
# ComfyUI's own classes outside nodes.py, by module (the rest of its core is "nodes")
EXTRAS = {**dict.fromkeys(
    ("SamplerCustom", "SamplerCustomAdvanced", "KSamplerSelect", "BasicScheduler",
     "KarrasScheduler", "ExponentialScheduler", "PolyexponentialScheduler", "SDTurboScheduler",
     "SplitSigmas", "SplitSigmasDenoise", "FlipSigmas", "RandomNoise", "DisableNoise",
     "CFGGuider", "BasicGuider", "DualCFGGuider"), "comfy_extras.nodes_custom_sampler")}


def python_module(class_name: str) -> str:
    """"nodes" for ComfyUI's core classes (or their comfy_extras module), "custom_nodes.<pack>"
    for a pack's."""
    pack = PACKS.get(class_name)
    if pack is not None:
        return f"custom_nodes.{pack}"
    return EXTRAS.get(class_name, "nodes")


def class_info(name: str, cls: NodeClass, registry: Registry, folders: Folders) -> dict[str, Any]:
    spec = registry.get(cls.op)
    props = spec.params.model_json_schema().get("properties", {}) if spec else {}
    required: dict[str, Any] = {}
    optional: dict[str, Any] = {}
    for item in cls.inputs:
        (optional if item.optional else required)[item.name] = _input(spec, item, props,
                                                                      folders)
        if (name, item.name) in CHOICES_FROM:  # another class's choices (Searge's inputs)
            source, field = CHOICES_FROM[(name, item.name)]
            theirs = class_info(source, CLASSES[source], registry, folders)["input"]
            required[item.name][0] = theirs["required"][field][0]
    return {
        "input": {"required": required, "optional": optional},
        "input_order": {"required": list(required), "optional": list(optional)},
        "output": [t for t, _ in cls.outputs], "output_is_list": [False] * len(cls.outputs),
        "output_name": [t for t, _ in cls.outputs], "name": name,
        "display_name": cls.display_name or name,
        "description": spec.description if spec else "", "python_module": python_module(name),
        "category": cls.category, "output_node": bool(spec and spec.is_output),
        "graphrt_op": cls.op,
    }


def object_info(registry: Registry, folders: Folders, only: str | None = None) -> dict[str, Any]:
    """ComfyUI's /object_info: every class whose op is registered, and the classes worked out
    while translating (graphrt.compat.comfy.folding), which the editor must know too."""
    table = {**CLASSES, **FOLDED_CLASSES}
    names = [only] if only is not None else list(table)
    return {n: class_info(n, table[n], registry, folders) for n in names
            if n in table and (n in FOLDED_CLASSES or registry.get(table[n].op) is not None)}
