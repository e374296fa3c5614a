"""The MODEL port value: a noise-prediction network behind a discrete-time denoiser.

D(x, σ) = x − σ·ε̂(c_in·x, t(σ)) for EPS models and x/(σ²+1) − σ·v̂/√(σ²+1) for V models,
with c_in = 1/√(σ²+1) and t(σ) the table timestep (quantized like ComfyUI by default).
`x` is in internal space (latent_scale × raw VAE units). One `denoise` call is one model
call, counted into the executor's meter (`graphrt.core.meter`, counter "model_calls").
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import torch

from graphrt.core import meter

from .table import sigma_table


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
        prediction: Literal["eps", "v"] = "eps",
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
        self.table = table or sigma_table()
        self.sigmas = torch.tensor(self.table, dtype=torch.float32)
        self.log_sigmas = self.sigmas.log()

    @property
    def sigma_min(self) -> float:
        return self.table[0]

    @property
    def sigma_max(self) -> float:
        return self.table[-1]

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
    ) -> torch.Tensor:
        """One model call: denoised predictions for a batch (x [N,C,H,W], σ [N])."""
        meter.count("model_calls")
        s = sigma.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
        c_in = 1.0 / (s * s + 1.0).sqrt()
        out = self.net(x * c_in, self.timestep(sigma), context, y)
        if self.prediction == "eps":
            return x - s * out
        return x / (s * s + 1.0) - s * out / (s * s + 1.0).sqrt()

    def to(self, device: Any) -> DiffusionModel:
        """Move the network to `device` (in place; returns self). For loaders, on a model
        they just built: a model that is a node's output is never moved."""
        mover = getattr(self.net, "to", None)
        if mover is not None:
            mover(device)
        return self
