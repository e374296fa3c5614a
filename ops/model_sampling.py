"""model.sampling_discrete — a MODEL with another parameterisation (ModelSamplingDiscrete).

As ComfyUI's node, the result samples with the scaled-linear table of SD/SDXL rebuilt from
scratch (any zsnr or LCM table of the input is replaced) and:
  eps:           D = x − σ·out
  v_prediction:  D = x/(σ²+1) − σ·out/√(σ²+1)
  x0:            D = out
  lcm:           ε-output through LCM's boundary condition on its 50-step distilled table
                 (the network sees timesteps 19, 39, …, 999)
zsnr rescales the table to zero terminal SNR first (`kernels/model_sampling.py`). The input
is never mutated: the result is a new model sharing its network (the same weights).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graphrt.core.op import Params, op

from .types import Model

SAMPLINGS = ("eps", "v_prediction", "lcm", "x0")


class SamplingDiscrete(Params):
    sampling: Literal["eps", "v_prediction", "lcm", "x0"] = "eps"
    zsnr: bool = Field(False, description="rescale the sigma table to zero terminal SNR")


@op("model.sampling_discrete", version=1)
def sampling_discrete(p: SamplingDiscrete, model: Model) -> Model:
    """The model with a discrete sampling parameterisation (ModelSamplingDiscrete)."""
    from .kernels.model_sampling import lcm_skip, lcm_table, zsnr_table
    from .kernels.table import sigma_table

    table = sigma_table()
    if p.zsnr:
        table = zsnr_table(table)
    if p.sampling == "lcm":
        skip = lcm_skip(table)
        return model.with_sampling("lcm", lcm_table(table), stride=skip, offset=skip - 1)
    prediction = {"eps": "eps", "v_prediction": "v", "x0": "x0"}[p.sampling]
    return model.with_sampling(prediction, table)
