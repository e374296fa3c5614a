"""The MODEL port value: a noise-prediction network behind a discrete-time denoiser.

D(x, σ) = x − σ·ε̂(c_in·x, t(σ)) for EPS models and x/(σ²+1) − σ·v̂/√(σ²+1) for V models,
with c_in = 1/√(σ²+1) and t(σ) the table timestep (quantized like ComfyUI by default). Two
more parameterisations as ComfyUI's ModelSamplingDiscrete: "x0" (D = the network's output)
and "lcm" (a distilled table, `model_sampling.py`). `with_sampling` gives a new model sharing the
network with another parameterisation and table.
`x` is in internal space (latent_scale × raw VAE units). One `denoise` call is one model
call, counted into the executor's meter (`graphrt.core.meter`, counter "model_calls"), unless
the caller counts itself (`count=False`: a guided evaluation whose conditioning areas differ in
size runs the network once per size and counts as one model call, guidance.py).
"""

from __future__ import annotations

import copy
from typing import Any, Literal, Protocol

import torch

from graphrt.core import meter

from .table import sigma_table

Prediction = Literal["eps", "v", "x0", "lcm"]


class Net(Protocol):
    """A noise-prediction network: (c_in·x [N,C,H,W], t [N], context [N,T,D], y [N,P] | None)."""

    def __call__(
        self, x_in: torch.Tensor, t: torch.Tensor, context: torch.Tensor, y: torch.Tensor | None
    ) -> torch.Tensor: ...


class DiffusionModel:
    """A denoiser D(x, σ) over a discrete-time network; what a MODEL port carries."""

    def __init__(
        self,
        net: Net,
        *,
        latent_scale: float,
        prediction: Prediction = "eps",
        quantize: bool = True,
        latent_channels: int = 4,
        name: str = "",
        table: tuple[float, ...] | None = None,
    ) -> None:
        self.net = net
        self.latent_scale = float(latent_scale)
        self.prediction = prediction
        self.quantize = quantize
        self.latent_channels = latent_channels
        self.name = name
        self.stride, self.offset = 1, 0  # network timestep = stride·table index + offset
        self._set_table(table or sigma_table())

    def _set_table(self, table: tuple[float, ...]) -> None:
        self.table = table
        self.sigmas = torch.tensor(self.table, dtype=torch.float32)
        # ln in float64, then float32, as ComfyUI's set_sigmas: t(σ) at a tie depends on it
        self.log_sigmas = torch.tensor(self.table, dtype=torch.float64).log().float()

    def with_sampling(self, prediction: Prediction, table: tuple[float, ...], stride: int = 1,
                      offset: int = 0) -> DiffusionModel:
        """A new model sharing this one's network, with another parameterisation and table
        (the network sees timestep stride·index + offset: LCM's distilled tables)."""
        out = copy.copy(self)
        out.prediction, out.stride, out.offset = prediction, stride, offset
        out._set_table(table)
        return out

    @property
    def sigma_min(self) -> float:
        return self.table[0]

    @property
    def sigma_max(self) -> float:
        return self.table[-1]

    def percent_to_sigma(self, percent: float) -> float:
        """σ at a fraction of the sampling run (ComfyUI's percent_to_sigma): ≥ 1e9 at 0, 0 at 1,
        else σ(t) at t = (1 − percent)·999, ln σ interpolated between table timesteps."""
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        t = torch.tensor((1.0 - percent) * 999.0)  # float32, as ComfyUI computes it
        index = ((t - self.offset) / self.stride).clamp(0, len(self.table) - 1)
        lo, hi, w = index.floor().long(), index.ceil().long(), index.frac()
        return float(((1 - w) * self.log_sigmas[lo] + w * self.log_sigmas[hi]).exp())

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        """t(σ): nearest table index in log space (quantized) or the fractional inverse."""
        log_sigmas = self.log_sigmas.to(sigma.device)
        ls = sigma.to(torch.float32).log()
        dists = ls[:, None] - log_sigmas[None, :]
        if self.quantize:
            return dists.abs().argmin(dim=1).to(torch.float32)
        low = (dists >= 0).cumsum(dim=1).argmax(dim=1).clamp(max=len(self.table) - 2)
        high = low + 1
        lo, hi = log_sigmas[low], log_sigmas[high]
        w = ((lo - ls) / (lo - hi)).clamp(0, 1)
        return (1 - w) * low + w * high

    def denoise(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor,
        context: torch.Tensor,
        y: torch.Tensor | None = None,
        *,
        count: bool = True,
    ) -> torch.Tensor:
        """One model call: denoised predictions for a batch (x [N,C,H,W], σ [N])."""
        if count:
            meter.count("model_calls")
        s = sigma.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
        c_in = 1.0 / (s * s + 1.0).sqrt()
        index = self.timestep(sigma)
        t = index if self.stride == 1 and self.offset == 0 else index * self.stride + self.offset
        out = self.net(x * c_in, t, context, y)
        if self.prediction == "eps":
            return x - s * out
        if self.prediction == "x0":
            return out
        if self.prediction == "lcm":
            from .model_sampling import lcm_denoised

            return lcm_denoised(x, s, t, out)
        return x / (s * s + 1.0) - s * out / (s * s + 1.0).sqrt()

    def to(self, device: Any) -> DiffusionModel:
        """Move the network to `device` (in place; returns self). For loaders, on a model
        they just built: a model that is a node's output is never moved."""
        mover = getattr(self.net, "to", None)
        if mover is not None:
            mover(device)
        return self
