"""ComfyUI's VAELoader, CLIPSetLastLayer and ModelSamplingDiscrete as `NodeClass` data:
ComfyUI's input names, defaults and widget order, each mapped to one native op
(`model.load_vae`, `text.clip_skip`, `model.sampling_discrete`). The class table adds them
with `CLASSES.update(PATCH_CLASSES)`. VAELoader's `vae_name` choices are the op's declared
files: the toy names, <models>/vae, and `taesd` / `taesdxl` while their pairs are in
<models>/vae_approx (docs/models.md).
"""

from __future__ import annotations

from .classes import In, NodeClass

PATCH_CLASSES: dict[str, NodeClass] = {
    "VAELoader": NodeClass(
        "model.load_vae", (In("vae_name", "COMBO", "name"),), (("VAE", "out"),),
        category="loaders", display_name="Load VAE"),
    "CLIPSetLastLayer": NodeClass(
        "text.clip_skip", (In("clip", "CLIP", "clip"),
                           In("stop_at_clip_layer", "INT", "stop_at_clip_layer", -1)),
        (("CLIP", "out"),), category="conditioning", display_name="CLIP Set Last Layer"),
    "ModelSamplingDiscrete": NodeClass(
        "model.sampling_discrete", (In("model", "MODEL", "model"),
                                    In("sampling", "COMBO", "sampling", "eps"),
                                    In("zsnr", "BOOLEAN", "zsnr", False)),
        (("MODEL", "out"),), category="advanced/model", display_name="ModelSamplingDiscrete"),
}
