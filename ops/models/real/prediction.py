"""A checkpoint's parameterisation from marker keys, as ComfyUI's CheckpointLoaderSimple reads it.

ComfyUI (comfy/supported_models.py, `SDXL.model_type`) looks at marker tensors only for the
SDXL base: `v_pred` → v-prediction, and with `ztsnr` also the zero-terminal-SNR table;
`edm_mean`/`edm_std` (Playground 2.5) and `edm_vpred.sigma_max` (CosXL) select continuous EDM
samplings, which graphrt does not have, so those files are refused rather than sampled wrong.
SD 1.x and the SDXL refiner are always ε-prediction (ComfyUI's `BASE.model_type`); a v-model
of those families takes `model.sampling_discrete` (ModelSamplingDiscrete) as in ComfyUI.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...kernels.model import DiffusionModel
from ...kernels.model_sampling import zsnr_table
from ...kernels.table import sigma_table
from .detect import Family, UnknownLayout


def prediction_of(keys: Iterable[str], family: Family) -> tuple[str, bool]:
    """("eps" | "v", zsnr) of a checkpoint of `family` with these keys."""
    keys = set(keys)
    if family.name != "sdxl":
        return "eps", False
    if "edm_mean" in keys and "edm_std" in keys:
        raise UnknownLayout("Playground 2.5 checkpoints (EDM sampling, 'edm_mean') are not "
                            "supported")
    if "edm_vpred.sigma_max" in keys:
        raise UnknownLayout("EDM v-prediction checkpoints ('edm_vpred.sigma_max', e.g. "
                            "CosXL) are not supported")
    if "v_pred" in keys:
        return "v", "ztsnr" in keys
    return "eps", False


def apply_prediction(model: DiffusionModel, prediction: str, zsnr: bool) -> DiffusionModel:
    """`model` itself for ε-prediction, else a copy with v-prediction (and zsnr's table)."""
    if prediction == "eps" and not zsnr:
        return model
    table = zsnr_table(sigma_table()) if zsnr else sigma_table()
    return model.with_sampling("v" if prediction == "v" else "eps", table)
