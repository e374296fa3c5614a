"""ComfyUI's LoRA and model-merging classes (LoraLoader, LoraLoaderModelOnly, ModelMerge*,
CLIPMergeSimple) as `NodeClass` data: ComfyUI's input names, defaults and widget order, each
mapped to one native op (`model.lora*`, `model.merge_*`). The class table adds them with
`CLASSES.update(MODEL_CLASSES)`.
"""

from __future__ import annotations

from .classes import In, NodeClass

_STEP = {"step": 0.01}
_LORA = (In("lora_name", "COMBO", "name"),)
_STRENGTH_MODEL = In("strength_model", "FLOAT", "strength_model", 1.0, extra=_STEP)
_STRENGTH_CLIP = In("strength_clip", "FLOAT", "strength_clip", 1.0, extra=_STEP)
_MODELS = (In("model1", "MODEL", "model1"), In("model2", "MODEL", "model2"))
_MERGING = "advanced/model_merging"

MODEL_CLASSES: dict[str, NodeClass] = {
    "LoraLoader": NodeClass(
        "model.lora", (In("model", "MODEL", "model"), In("clip", "CLIP", "clip"), *_LORA,
                       _STRENGTH_MODEL, _STRENGTH_CLIP),
        (("MODEL", "model"), ("CLIP", "clip")), category="loaders", display_name="Load LoRA"),
    "LoraLoaderModelOnly": NodeClass(
        "model.lora_model_only", (In("model", "MODEL", "model"), *_LORA, _STRENGTH_MODEL),
        (("MODEL", "out"),), category="loaders", display_name="LoraLoaderModelOnly"),
    "ModelMergeSimple": NodeClass(
        "model.merge_simple", (*_MODELS, In("ratio", "FLOAT", "ratio", 1.0, extra=_STEP)),
        (("MODEL", "out"),), category=_MERGING, display_name="ModelMergeSimple"),
    "ModelMergeAdd": NodeClass(
        "model.merge_add", _MODELS, (("MODEL", "out"),), category=_MERGING,
        display_name="ModelMergeAdd"),
    "ModelMergeSubtract": NodeClass(
        "model.merge_subtract", (*_MODELS, In("multiplier", "FLOAT", "multiplier", 1.0,
                                               extra=_STEP)),
        (("MODEL", "out"),), category=_MERGING, display_name="ModelMergeSubtract"),
    "CLIPMergeSimple": NodeClass(
        "model.merge_clip_simple", (In("clip1", "CLIP", "clip1"), In("clip2", "CLIP", "clip2"),
                                    In("ratio", "FLOAT", "ratio", 1.0, extra=_STEP)),
        (("CLIP", "out"),), category=_MERGING, display_name="CLIPMergeSimple"),
}
