"""SeargeSDXL's first-generation nodes (its modules/_legacy.py; docs/comfyui-workflows.md):
the v1 sampler, the prompt encoders, and the value helpers its example workflows wire into
other nodes' widgets. Names, input order, defaults and enum strings are Searge's.

- `SeargeSDXLSampler` runs `sample.split_v1`.
- The prompt encoders are composites: each is the CLIPTextEncodeSDXL /
  CLIPTextEncodeSDXLRefiner nodes it computes (the same token padding and pooled, size and
  aesthetic-score conditioning), under ids `<node>`, `<node>:1`, ….
- The constants, pairs, math, scaler and prompt-text nodes are value classes: graphrt
  computes them while translating and puts the result into the widgets they feed
  (graphrt.compat.comfy.folding), as PrimitiveNode values are.
The composites and value classes are kept out of `CLASSES` (they run no op); the lead
merges `SEARGE_CLASSES` into `CLASSES`, and `FOLDED_CLASSES` is looked up beside it. Its v3
pipeline classes (classes_searge_pipeline) join `FOLDED_CLASSES`.
"""

from __future__ import annotations

from typing import Any

from .classes import In, NodeClass

_COMFY_NOISE = {"noise_mode": "comfy"}
_MULTILINE = {"multiline": True}
_INT_MAX = 0xFFFFFFFFFFFFFFFF
_OPS = ("a * b + c", "a + c", "a - c", "a * b", "a / b")
_LEGACY = "Searge/_deprecated_/"
_SIZE = {"step": 8}

SEARGE_CLASSES: dict[str, NodeClass] = {
    "SeargeSDXLSampler": NodeClass(
        "sample.split_v1",
        (In("base_model", "MODEL", "base_model"),
         In("base_positive", "CONDITIONING", "base_positive"),
         In("base_negative", "CONDITIONING", "base_negative"),
         In("refiner_model", "MODEL", "refiner_model"),
         In("refiner_positive", "CONDITIONING", "refiner_positive"),
         In("refiner_negative", "CONDITIONING", "refiner_negative"),
         In("latent_image", "LATENT", "latent"), In("noise_seed", "INT", "seed", 0),
         In("steps", "INT", "steps", 30), In("cfg", "FLOAT", "cfg", 7.0, extra={"step": 0.5}),
         In("sampler_name", "COMBO", "sampler", "dpmpp_2m"),
         In("scheduler", "COMBO", "scheduler", "karras"),
         In("base_ratio", "FLOAT", "base_ratio", 0.8), In("denoise", "FLOAT", "denoise", 1.0)),
        (("LATENT", "out"),), fixed=_COMFY_NOISE, category=_LEGACY + "Sampling",
        display_name="SDXL Sampler v1 (Searge)"),
}


def _w(name: str, kind: str, default: Any, **extra: Any) -> In:
    return In(name, kind, name, default, extra=extra)


def _math(values: dict[str, Any]) -> tuple[Any, ...]:
    """SeargeIntegerMath / SeargeFloatMath: one of five expressions of a, b, c (an unknown
    op gives 0, integer a / b floors)."""
    a, b, c, op = values["a"], values["b"], values["c"], values["op"]
    result: Any = 0
    if op == "a * b + c":
        result = a * b + c
    elif op == "a + c":
        result = a + c
    elif op == "a - c":
        result = a - c
    elif op == "a * b":
        result = a * b
    elif op == "a / b":
        result = a // b if isinstance(a, int) and isinstance(b, int) else a / b
    return (int(result) if isinstance(a, int) else result,)


def _combine(values: dict[str, Any]) -> tuple[Any, ...]:
    """SeargePromptCombiner: both prompts joined by the separator, or the non-empty one."""
    first, second = values["prompt1"], values["prompt2"]
    if first and second:
        return (first + values["separator"] + second,)
    return (first or second,)


def _scale(values: dict[str, Any]) -> tuple[Any, ...]:
    """SeargeIntegerScaler: value × factor, floored to a multiple of multiple_of."""
    step = values["multiple_of"]
    return (int(values["value"] * values["factor"] // step) * step,)


def _value(inputs: tuple[In, ...], outputs: tuple[str, ...], compute: Any, group: str,
           title: str) -> NodeClass:
    return NodeClass("", inputs, tuple((t, f"out{i}") for i, t in enumerate(outputs)),
                     category=_LEGACY + group, display_name=title, compute=compute)


def _base_pair(v: dict[str, Any], ids: tuple[str, str]) -> dict[str, Any]:
    size = {k: v[k] for k in ("crop_w", "crop_h", "target_width", "target_height")}
    return {ids[i]: {"class_type": "CLIPTextEncodeSDXL", "inputs": {
        "clip": v["base_clip"], "width": v["base_width"], "height": v["base_height"], **size,
        "text_g": v[f"{sign}_g"], "text_l": v[f"{sign}_l"]}} for i, sign in
        enumerate(("pos", "neg"))}


def _refiner_pair(v: dict[str, Any], ids: tuple[str, str]) -> dict[str, Any]:
    return {ids[i]: {"class_type": "CLIPTextEncodeSDXLRefiner", "inputs": {
        "ascore": v[f"{sign}_ascore"], "width": v["refiner_width"],
        "height": v["refiner_height"], "text": v[f"{sign}_r"], "clip": v["refiner_clip"]}}
        for i, sign in enumerate(("pos", "neg"))}


def _ids(node: str, n: int) -> list[str]:
    return [node] + [f"{node}:{i}" for i in range(1, n)]


def _encode_all(node: str, v: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    ids = _ids(node, 4)
    nodes = {**_base_pair(v, (ids[0], ids[1])), **_refiner_pair(v, (ids[2], ids[3]))}
    return nodes, [[i, 0] for i in ids]


def _encode_base(node: str, v: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    ids = _ids(node, 2)
    return _base_pair(v, (ids[0], ids[1])), [[i, 0] for i in ids]


def _encode_refiner(node: str, v: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    ids = _ids(node, 2)
    return _refiner_pair(v, (ids[0], ids[1])), [[i, 0] for i in ids]


_BASE_TEXT = tuple(_w(n, "STRING", n.upper(), **_MULTILINE) for n in ("pos_g", "pos_l"))
_NEG_TEXT = tuple(_w(n, "STRING", n.upper(), **_MULTILINE) for n in ("neg_g", "neg_l"))
_BASE_SIZE = (_w("base_width", "INT", 4096, **_SIZE), _w("base_height", "INT", 4096, **_SIZE),
              _w("crop_w", "INT", 0, **_SIZE), _w("crop_h", "INT", 0, **_SIZE),
              _w("target_width", "INT", 4096, **_SIZE),
              _w("target_height", "INT", 4096, **_SIZE))
_REFINER = (_w("pos_ascore", "FLOAT", 6.0), _w("neg_ascore", "FLOAT", 2.5),
            _w("refiner_width", "INT", 2048, **_SIZE), _w("refiner_height", "INT", 2048, **_SIZE))
_COND2 = (("CONDITIONING", "out0"), ("CONDITIONING", "out1"))
_BASE_CLIP = In("base_clip", "CLIP", "base_clip")
_REFINER_CLIP = In("refiner_clip", "CLIP", "refiner_clip")
_POS_R = _w("pos_r", "STRING", "POS_R", **_MULTILINE)
_NEG_R = _w("neg_r", "STRING", "NEG_R", **_MULTILINE)

FOLDED_CLASSES: dict[str, NodeClass] = {
    "SeargeSDXLPromptEncoder": NodeClass(
        "", (_BASE_CLIP, _REFINER_CLIP, *_BASE_TEXT, _POS_R, *_NEG_TEXT, _NEG_R, *_BASE_SIZE,
             *_REFINER), _COND2 + (("CONDITIONING", "out2"), ("CONDITIONING", "out3")),
        category=_LEGACY + "ClipEncoding", display_name="SDXL Prompt Encoder (Searge)",
        compose=_encode_all),
    "SeargeSDXLBasePromptEncoder": NodeClass(
        "", (_BASE_CLIP, *_BASE_TEXT, *_NEG_TEXT, *_BASE_SIZE), _COND2,
        category=_LEGACY + "ClipEncoding", display_name="SDXL Base Prompt Encoder (Searge)",
        compose=_encode_base),
    "SeargeSDXLRefinerPromptEncoder": NodeClass(
        "", (_REFINER_CLIP, _POS_R, _NEG_R, *_REFINER), _COND2,
        category=_LEGACY + "ClipEncoding",
        display_name="SDXL Refiner Prompt Encoder (Searge)", compose=_encode_refiner),
    "SeargePromptText": _value((_w("prompt", "STRING", "", **_MULTILINE),), ("STRING",),
                               lambda v: (v["prompt"],), "Prompting", "Prompt text input"),
    "SeargePromptCombiner": _value(
        (_w("prompt1", "STRING", "", **_MULTILINE), _w("separator", "STRING", ", "),
         _w("prompt2", "STRING", "", **_MULTILINE)), ("STRING",), _combine, "Prompting",
        "Prompt combiner"),
    "SeargeIntegerConstant": _value((_w("value", "INT", 0, min=0, max=_INT_MAX),), ("INT",),
                                    lambda v: (v["value"],), "Integers", "Integer Constant"),
    "SeargeIntegerPair": _value(
        (_w("value1", "INT", 0, min=0, max=_INT_MAX), _w("value2", "INT", 0, min=0,
                                                          max=_INT_MAX)),
        ("INT", "INT"), lambda v: (v["value1"], v["value2"]), "Integers", "Integer Pair"),
    "SeargeIntegerMath": _value(
        (In("op", "COMBO", "op", "a * b + c", options=_OPS),
         *(_w(n, "INT", d, min=0, max=_INT_MAX) for n, d in (("a", 0), ("b", 1), ("c", 0)))),
        ("INT",), _math, "Integers", "Integer Math"),
    "SeargeIntegerScaler": _value(
        (_w("value", "INT", 0, min=0, max=_INT_MAX), _w("factor", "FLOAT", 1.0, step=0.01),
         _w("multiple_of", "INT", 1, min=0, max=65536)), ("INT",), _scale, "Integers",
        "Integer Scaler"),
    "SeargeFloatConstant": _value((_w("value", "FLOAT", 0.0, step=0.01),), ("FLOAT",),
                                  lambda v: (v["value"],), "Floats", "Float Constant"),
    "SeargeFloatPair": _value(
        (_w("value1", "FLOAT", 0.0, step=0.01), _w("value2", "FLOAT", 0.0, step=0.01)),
        ("FLOAT", "FLOAT"), lambda v: (v["value1"], v["value2"]), "Floats", "Float Pair"),
    "SeargeFloatMath": _value(
        (In("op", "COMBO", "op", "a * b + c", options=_OPS),
         *(_w(n, "FLOAT", d, step=0.01) for n, d in (("a", 0.0), ("b", 1.0), ("c", 0.0)))),
        ("FLOAT",), _math, "Floats", "Float Math"),
}

from .classes_searge_pipeline import PIPELINE_CLASSES  # noqa: E402

FOLDED_CLASSES.update(PIPELINE_CLASSES)
