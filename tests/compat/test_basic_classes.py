"""ComfyUI's basic latent/image/mask/conditioning classes (classes_basic.py): each maps to
a registered op, /object_info shows ComfyUI's INPUT_TYPES for it, and an API-format prompt
using them runs end to end on the toy models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphrt import Runtime, default_registry
from graphrt.compat.comfy.classes import CLASSES
from graphrt.compat.comfy.classes_basic import BASIC_CLASSES
from graphrt.compat.comfy.object_info import class_info
from graphrt.core.paths import Folders


@pytest.fixture
def classes(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """CLASSES with the basic classes merged in (as the lead's CLASSES.update will do)."""
    for name, cls in BASIC_CLASSES.items():
        monkeypatch.setitem(CLASSES, name, cls)
    return CLASSES


MAX = 16384
LAT, IMG, MSK, CND = ["LATENT"], ["IMAGE"], ["MASK"], ["CONDITIONING"]


def px(default: int, lo: int = 0, step: int = 1, hi: int = MAX) -> list[Any]:
    return ["INT", {"default": default, "min": lo, "max": hi, "step": step}]


def num(default: float, lo: float, hi: float, step: float = 0.01) -> list[Any]:
    return ["FLOAT", {"default": default, "min": lo, "max": hi, "step": step}]


LATENT_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]
IMAGE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
# ComfyUI's INPUT_TYPES (required inputs, in order) and RETURN_TYPES for each class
COMFY: dict[str, tuple[dict[str, list[Any]], list[str]]] = {
    "LatentUpscale": ({"samples": LAT, "upscale_method": [LATENT_METHODS], "width": px(512, 0, 8),
                       "height": px(512, 0, 8), "crop": [["disabled", "center"]]}, LAT),
    "LatentUpscaleBy": ({"samples": LAT, "upscale_method": [LATENT_METHODS],
                         "scale_by": num(1.5, 0.01, 8.0)}, LAT),
    "LatentComposite": ({"samples_to": LAT, "samples_from": LAT, "x": px(0, 0, 8),
                         "y": px(0, 0, 8), "feather": px(0, 0, 8)}, LAT),
    "LatentBlend": ({"samples1": LAT, "samples2": LAT, "blend_factor": num(0.5, 0, 1)}, LAT),
    "LatentFromBatch": ({"samples": LAT, "batch_index": ["INT", {"default": 0, "min": 0,
                                                               "max": 63}],
                         "length": ["INT", {"default": 1, "min": 1, "max": 64}]}, LAT),
    "RepeatLatentBatch": ({"samples": LAT, "amount": ["INT", {"default": 1, "min": 1,
                                                            "max": 64}]}, LAT),
    "VAEEncodeForInpaint": ({"pixels": IMG, "vae": ["VAE"], "mask": MSK,
                             "grow_mask_by": px(6, 0, 1, 64)}, LAT),
    "LoadImageMask": ({"image": [None], "channel": [["alpha", "red", "green", "blue"]]}, MSK),
    "ImageScaleBy": ({"image": IMG, "upscale_method": [IMAGE_METHODS],
                      "scale_by": num(1.0, 0.01, 8.0)}, IMG),
    "ImageInvert": ({"image": IMG}, IMG),
    "ImageCrop": ({"image": IMG, "width": px(512, 1), "height": px(512, 1), "x": px(0),
                   "y": px(0)}, IMG),
    "EmptyImage": ({"width": px(512, 1), "height": px(512, 1),
                    "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
                    "color": ["INT", {"default": 0, "min": 0, "max": 0xFFFFFF, "step": 1,
                                      "display": "color"}]}, IMG),
    "ImagePadForOutpaint": ({"image": IMG, "left": px(0, 0, 8), "top": px(0, 0, 8),
                             "right": px(0, 0, 8), "bottom": px(0, 0, 8),
                             "feathering": px(40)}, ["IMAGE", "MASK"]),
    "InvertMask": ({"mask": MSK}, MSK),
    "GrowMask": ({"mask": MSK, "expand": px(0, -MAX), "tapered_corners":
                  ["BOOLEAN", {"default": True}]}, MSK),
    "SolidMask": ({"value": num(1.0, 0, 1), "width": px(512, 1), "height": px(512, 1)}, MSK),
    "FeatherMask": ({"mask": MSK, "left": px(0), "top": px(0), "right": px(0),
                     "bottom": px(0)}, MSK),
    "MaskComposite": ({"destination": MSK, "source": MSK, "x": px(0), "y": px(0), "operation":
                       [["multiply", "add", "subtract", "and", "or", "xor"]]}, MSK),
    "ImageToMask": ({"image": IMG, "channel": [["red", "green", "blue", "alpha"]]}, MSK),
    "MaskToImage": ({"mask": MSK}, IMG),
    "ThresholdMask": ({"mask": MSK, "value": num(0.5, 0, 1)}, MSK),
    "ConditioningZeroOut": ({"conditioning": CND}, CND),
    "ConditioningAverage": ({"conditioning_to": CND, "conditioning_from": CND,
                             "conditioning_to_strength": num(1.0, 0, 1)}, CND),
    "ConditioningConcat": ({"conditioning_to": CND, "conditioning_from": CND}, CND),
    "ConditioningSetArea": ({"conditioning": CND, "width": px(64, 64, 8), "height": px(64, 64, 8),
                             "x": px(0, 0, 8), "y": px(0, 0, 8),
                             "strength": num(1.0, 0, 10)}, CND),
    "ConditioningSetAreaPercentage": ({"conditioning": CND, "width": num(1.0, 0, 1),
                                       "height": num(1.0, 0, 1), "x": num(0, 0, 1),
                                       "y": num(0, 0, 1), "strength": num(1.0, 0, 10)}, CND),
    "ConditioningSetAreaStrength": ({"conditioning": CND, "strength": num(1.0, 0, 10)}, CND),
    "ConditioningSetTimestepRange": ({"conditioning": CND, "start": num(0.0, 0, 1, 0.001),
                                      "end": num(1.0, 0, 1, 0.001)}, CND),
}


def test_every_class_maps_to_a_registered_op() -> None:
    registry = default_registry()
    assert set(BASIC_CLASSES) == set(COMFY)
    for name, cls in BASIC_CLASSES.items():
        spec = registry.get(cls.op)
        assert spec is not None, name
        ports, params = {p.name for p in spec.inputs}, set(spec.params.model_fields)
        for i in cls.inputs:
            assert i.to in (ports if i.is_link else params), (name, i.name)
        assert [port for _t, port in cls.outputs] == [p.name for p in spec.outputs], name


@pytest.mark.parametrize("name", sorted(COMFY))
def test_object_info_matches_comfyui(name: str, tmp_path: Path) -> None:
    inputs, outputs = COMFY[name]
    info = class_info(name, BASIC_CLASSES[name], default_registry(),
                      Folders(tmp_path, tmp_path, tmp_path))
    assert info["input_order"]["required"] == list(inputs)
    assert info["output"] == outputs
    for key, expected in inputs.items():
        shown = info["input"]["required"][key]
        if expected == [None]:  # a file list
            continue
        if isinstance(expected[0], list):  # a COMBO: its values, in ComfyUI's order
            assert shown[0] == expected[0], key
        elif len(expected) == 1:
            assert shown == expected, key
        else:
            assert shown[0] == expected[0], key
            assert {k: shown[1].get(k) for k in expected[1]} == expected[1], key
            assert set(shown[1]) - set(expected[1]) <= {"tooltip"}, (key, shown[1])


def prompt() -> dict[str, Any]:
    """A toy inpaint/outpaint prompt through most of the basic classes."""
    def n(cls: str, **inputs: Any) -> dict[str, Any]:
        return {"class_type": cls, "inputs": inputs}

    return {
        "4": n("CheckpointLoaderSimple", ckpt_name="toy-shapes"),
        "6": n("CLIPTextEncode", text="a red circle on the left", clip=["4", 1]),
        "7": n("CLIPTextEncode", text="blue", clip=["4", 1]),
        "20": n("ConditioningZeroOut", conditioning=["7", 0]),
        "21": n("ConditioningConcat", conditioning_to=["6", 0], conditioning_from=["7", 0]),
        "22": n("ConditioningAverage", conditioning_to=["21", 0], conditioning_from=["6", 0],
                conditioning_to_strength=0.5),
        "25": n("ConditioningSetArea", conditioning=["22", 0], width=64, height=64, x=0, y=0,
                strength=1.5),
        "26": n("ConditioningSetAreaPercentage", conditioning=["6", 0], width=0.5,
                height=1.0, x=0.5, y=0.0, strength=1.0),
        "27": n("ConditioningSetAreaStrength", conditioning=["26", 0], strength=0.7),
        "28": n("ConditioningSetTimestepRange", conditioning=["27", 0], start=0.0, end=0.5),
        "29": n("ConditioningCombine", conditioning_1=["25", 0], conditioning_2=["28", 0]),
        "10": n("EmptyImage", width=48, height=48, batch_size=1, color=0x808080),
        "11": n("ImagePadForOutpaint", image=["10", 0], left=8, top=8, right=8, bottom=8,
                feathering=4),
        "12": n("SolidMask", value=0.0, width=64, height=64),
        "13": n("MaskComposite", destination=["12", 0], source=["11", 1], x=0, y=0,
                operation="add"),
        "14": n("GrowMask", mask=["13", 0], expand=2, tapered_corners=True),
        "15": n("FeatherMask", mask=["14", 0], left=4, top=4, right=4, bottom=4),
        "16": n("ThresholdMask", mask=["15", 0], value=0.3),
        "17": n("InvertMask", mask=["16", 0]),
        "18": n("InvertMask", mask=["17", 0]),
        "19": n("VAEEncodeForInpaint", pixels=["11", 0], vae=["4", 2], mask=["18", 0],
                grow_mask_by=6),
        "23": n("RepeatLatentBatch", samples=["19", 0], amount=2),
        "24": n("LatentFromBatch", samples=["23", 0], batch_index=1, length=1),
        "3": n("KSampler", model=["4", 0], seed=3, steps=2, cfg=4.0, sampler_name="euler",
               scheduler="karras", positive=["29", 0], negative=["20", 0],
               latent_image=["24", 0], denoise=1.0),
        "30": n("LatentUpscaleBy", samples=["3", 0], upscale_method="bislerp", scale_by=1.5),
        "31": n("LatentUpscale", samples=["30", 0], upscale_method="nearest-exact", width=64,
                height=64, crop="disabled"),
        "32": n("LatentBlend", samples1=["31", 0], samples2=["3", 0], blend_factor=0.5),
        "33": n("LatentComposite", samples_to=["32", 0], samples_from=["3", 0], x=8, y=8,
                feather=8),
        "8": n("VAEDecode", samples=["33", 0], vae=["4", 2]),
        "34": n("ImageScaleBy", image=["8", 0], upscale_method="bilinear", scale_by=1.0),
        "35": n("ImageInvert", image=["34", 0]),
        "36": n("ImageCrop", image=["35", 0], width=32, height=32, x=8, y=8),
        "9": n("SaveImage", images=["36", 0], filename_prefix="basic"),
        "40": n("ImageToMask", image=["8", 0], channel="red"),
        "41": n("MaskToImage", mask=["40", 0]),
        "42": n("SaveImage", images=["41", 0], filename_prefix="mask"),
        "50": n("LoadImageMask", image="example.png [input]", channel="alpha"),
        "51": n("MaskToImage", mask=["50", 0]),
        "52": n("PreviewImage", images=["51", 0]),
    }


def test_a_prompt_of_basic_classes_runs(classes: dict[str, Any], tmp_path: Path) -> None:
    used = {raw["class_type"] for raw in prompt().values()}
    assert used >= set(BASIC_CLASSES)  # every basic class
    result = Runtime(device="cpu", output_dir=tmp_path).run(prompt())
    assert result.ok, (result.failed, result.blocked)
    for node in ("9", "42", "52"):
        assert (tmp_path / result.outputs[node][0]).is_file()
    assert set(prompt()) <= set(result.executed)
