"""An analytic v-prediction network: the exact v of the toy family's Gaussian data model.

Wraps the toy ε-network: with σ from the (fractional) timestep, x = c_in⁻¹·x_in and
D = x − σ·ε̂, it returns v = (x/(σ²+1) − D)·√(σ²+1)/σ, so a v-parameterised model built on it
has exactly the toy model's denoiser (closed-form probability flow in test_pf_exactness.py).
"""

from __future__ import annotations

from typing import Any

import torch


class VNet:
    def __init__(self, eps_net: Any) -> None:
        self.eps_net = eps_net

    def __call__(self, x_in: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                 y: torch.Tensor | None) -> torch.Tensor:
        eps = self.eps_net(x_in, t, context, y)
        s = self.eps_net.sigma(t).to(x_in.dtype).reshape(-1, 1, 1, 1)
        root = (s * s + 1.0).sqrt()
        x = x_in * root
        denoised = x - s * eps
        return (x / (s * s + 1.0) - denoised) * root / s
