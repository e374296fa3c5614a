"""ComfyUI's own noise sources, for noise mode "comfy" (docs/reproducibility.md,
docs/semantics.md §4.2). graphrt's own mode is in noise.py.

- `ComfyAncestral` is ComfyUI's default_noise_sampler: ONE generator per sampler call, on
  x's device, seeded with the call's seed (+1 on CPU); each query is the next
  `torch.randn` of x's shape. `skip` discards the draws that earlier steps of the same call
  made: a node that runs steps [j, …) of a call that started at step a skips j − a draws.
- `ComfyBrownian` is ComfyUI's BrownianTreeNoiseSampler: one torchsde BrownianTree over
  [σ_lo, σ_hi] with entropy = seed and w0 = zeros like x, built on CPU (`cpu=True`, the
  plain SDE samplers) or on x's device (the `_gpu` ones); a query returns
  (W(σ_next) − W(σ))/√|σ_next − σ|, moved to the device of σ.

Both copy ComfyUI's call pattern (argument kinds, dtypes and devices), since the values
depend on it; neither touches the global RNG.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from .noise import wrap_seed

Scalar = torch.Tensor | float


class ComfyAncestral:
    """noise_sampler(σ, σ_next): the next draw of the call's generator (§4.2)."""

    def __init__(self, like: torch.Tensor, seed: int, *, skip: int = 0) -> None:
        if skip < 0:
            raise ValueError(f"skip must be ≥ 0, got {skip}")
        self.like = like
        offset = 1 if like.device.type == "cpu" else 0  # ComfyUI: seed += 1 on CPU
        self.generator = torch.Generator(device=like.device).manual_seed(wrap_seed(seed + offset))
        for _ in range(skip):
            self.draw()

    def draw(self) -> torch.Tensor:
        x = self.like
        return torch.randn(x.size(), dtype=x.dtype, layout=x.layout, device=x.device,
                           generator=self.generator)

    def __call__(self, sigma: Scalar, sigma_next: Scalar) -> torch.Tensor:
        return self.draw()


def _sorted(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    return (a, b, 1) if a < b else (b, a, -1)


class ComfyBrownian:
    """noise_sampler(σ, σ_next) on ComfyUI's Brownian tree over [sigma_min, sigma_max]."""

    def __init__(self, like: torch.Tensor, sigma_min: Scalar, sigma_max: Scalar, seed: int,
                 *, cpu: bool = True) -> None:
        import torchsde  # heavy; only SDE samplers need it

        t0, t1, self.sign = _sorted(torch.as_tensor(sigma_min), torch.as_tensor(sigma_max))
        w0 = torch.zeros_like(like)
        if cpu:
            t0, w0, t1 = t0.detach().cpu(), w0.detach().cpu(), t1.detach().cpu()
        self.cpu = cpu
        self.tree: Any = torchsde.BrownianTree(t0, w0, t1, entropy=wrap_seed(seed))

    def increment(self, t0: torch.Tensor, t1: torch.Tensor) -> torch.Tensor:
        """W(t1) − W(t0), on t0's device and in its dtype (BatchedBrownianTree.__call__)."""
        a, b, sign = _sorted(t0, t1)
        device, dtype = a.device, a.dtype
        if self.cpu:
            a, b = a.detach().cpu().float(), b.detach().cpu().float()
        with warnings.catch_warnings():  # torchsde clamps σ_max past its rounded end, and says so
            warnings.filterwarnings("ignore", message="Should have", category=UserWarning)
            w: torch.Tensor = self.tree(a, b).to(device=device, dtype=dtype)
        return w * (self.sign * sign)

    def __call__(self, sigma: Scalar, sigma_next: Scalar) -> torch.Tensor:
        t0, t1 = torch.as_tensor(sigma), torch.as_tensor(sigma_next)
        return self.increment(t0, t1) / (t1 - t0).abs().sqrt()


def comfy_tree(like: torch.Tensor, span: torch.Tensor, seed: int, *, cpu: bool
               ) -> ComfyBrownian:
    """The tree ComfyUI builds for a σ list `span`: [min positive σ, max σ] of it."""
    return ComfyBrownian(like, span[span > 0].min(), span.max(), seed, cpu=cpu)
