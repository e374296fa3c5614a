"""An analytic test network: the exact ε-predictor of a Gaussian data distribution.

Data x₀ ~ N(μ, s²I) in internal space, with μ = mu + mean(context) (+ mean(y)) per batch
element so that conditionings differ. Then D(x, σ) = μ + s²/(s²+σ²)(x − μ) exactly, i.e.
ε̂ = (x − μ)σ/(s²+σ²). The net receives c_in·x and t(σ); it recovers σ from the fractional t
through the table (use DiffusionModel(..., quantize=False) for exactness).
"""

from __future__ import annotations

import torch

from graphrt.ops.kernels.model import DiffusionModel
from graphrt.ops.kernels.table import sigma_table


class GaussianNet:
    """Net protocol of model.py: (c_in·x, t, context, y) → ε̂."""

    def __init__(self, mu: float = 0.3, spread: float = 0.8) -> None:
        self.mu, self.s2 = mu, spread * spread
        self.log_sigmas = torch.tensor(sigma_table(), dtype=torch.float64).log()

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(torch.float64).clamp(0, len(self.log_sigmas) - 1)
        lo = t.floor().long()
        hi = (lo + 1).clamp(max=len(self.log_sigmas) - 1)
        w = t - lo
        ls = self.log_sigmas.to(t.device)
        return ((1 - w) * ls[lo] + w * ls[hi]).exp()

    def mean(self, context: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        m = self.mu + context.to(torch.float64).mean(dim=(1, 2))
        return m if y is None else m + y.to(torch.float64).mean(dim=1)

    def __call__(
        self, x_in: torch.Tensor, t: torch.Tensor, context: torch.Tensor, y: torch.Tensor | None
    ) -> torch.Tensor:
        sig = self.sigma(t)[:, None, None, None]
        x = x_in.to(torch.float64) * (sig * sig + 1).sqrt()
        mu = self.mean(context, y)[:, None, None, None]
        return ((x - mu) * sig / (self.s2 + sig * sig)).to(x_in.dtype)


def gaussian_model(
    mu: float = 0.3, spread: float = 0.8, latent_scale: float = 0.13025
) -> DiffusionModel:
    return DiffusionModel(GaussianNet(mu, spread), latent_scale=latent_scale, quantize=False)


def cond(value: float, **opts: object) -> list[list[object]]:
    """A one-entry conditioning whose context is constant `value` ([1, 3, 8])."""
    return [[torch.full((1, 3, 8), value), dict(opts)]]
