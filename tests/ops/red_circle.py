"""The toy's one-Gaussian case, "a red circle on the left", for closed-form sampling tests.

Its data is N(μ, s²) in latent space (float64, unquantized), so the probability flow from
x_T = μ + σ_max·z lands on μ + (x_T − μ)·s/√(s² + σ_max²) exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from graphrt.ops.models.toy import load_toy


@dataclass(frozen=True)
class RedCircle:
    toy: Any  # the toy DiffusionModel
    cond: torch.Tensor  # its encoded prompt
    mu: torch.Tensor  # [1, 4, 8, 8]
    s: float  # the data's spread
    x_t: torch.Tensor  # μ + σ_max·z, z drawn with seed 0

    def flow_end(self, sigma_max: float) -> torch.Tensor:
        """x(0) of the probability flow that starts at `x_t` at σ = `sigma_max`."""
        s = self.s
        return self.mu + (self.x_t - self.mu) * s / math.sqrt(s * s + sigma_max ** 2)


def red_circle(sigma_max: float | None = None) -> RedCircle:
    """The case at the toy's σ_max, or at `sigma_max` (another model's)."""
    toy, clip, _ = load_toy("toy-shapes", quantize=False)
    cond = clip.encode("a red circle on the left")[0].double()
    means, s = toy.net.mixture(("red", "circle", "left"), 8, 8, torch.device("cpu"),
                               torch.float64)
    mu = means.reshape(1, 4, 8, 8)
    start = toy.sigma_max if sigma_max is None else sigma_max
    x_t = mu + start * torch.randn(1, 4, 8, 8, dtype=torch.float64,
                                   generator=torch.Generator().manual_seed(0))
    return RedCircle(toy, cond, mu, s, x_t)
