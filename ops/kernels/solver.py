"""What the sampler kernels share: the model, callback and noise-sampler types, one model
evaluation at a step's σ, and the per-step report k-diffusion's callbacks expect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

ModelFn = Callable[..., torch.Tensor]
Callback = Callable[[dict[str, Any]], None] | None
NoiseSampler = Callable[[Any, Any], torch.Tensor]


def denoise_at(model: ModelFn, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The model's denoised prediction of `x` at the scalar σ `sigma`, for every batch item."""
    return model(x, sigma * x.new_ones([x.shape[0]]))


def report_step(cb: Callback, i: int, x: torch.Tensor, sigma: Any,
                denoised: torch.Tensor) -> None:
    """Tell a k-diffusion style callback about step `i` (σ̂ = σ: these samplers do no churn)."""
    if cb is not None:
        cb({"x": x, "i": i, "sigma": sigma, "sigma_hat": sigma, "denoised": denoised})
