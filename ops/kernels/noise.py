"""Device-independent noise (docs/semantics.md §4, docs/design-notes.md, noise).

- `prepare_noise`: ComfyUI's initial noise, bit for bit (§4.1, current version).
- `StepNoise`: the noise of ancestral steps, a function of (seed, stream, absolute step
  index) only, so a run split at step k draws the same noise as the unsplit run.
- `BrownianNoise`: the Brownian tree of SDE samplers over the FULL schedule's
  [min positive σ, max σ], seeded from the seed, so split runs share one Brownian path.

All draws happen on private CPU generators (the global RNG is never touched) and are then
moved to the target device, so a result is the same on CPU and GPU.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

SEED_MOD = 2**64
Scalar = torch.Tensor | float


def wrap_seed(seed: int) -> int:
    """Seeds wrap modulo 2⁶⁴ (docs/design-notes.md), e.g. Searge's seed + 2 past the UI maximum."""
    return int(seed) % SEED_MOD


def _generator(seed: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(wrap_seed(seed))


def prepare_noise(
    samples: torch.Tensor, seed: int, batch_index: Sequence[int] | None = None
) -> torch.Tensor:
    """Initial noise for `samples` [B,C,H,W] (§4.1), on samples' device and dtype.

    Without batch_index: one float32 draw of the whole shape. With it: sequential [1,C,H,W]
    draws for i = 0..max(batch_index); element j gets draw batch_index[j] (duplicates share).
    """
    gen = _generator(seed)
    shape = list(samples.shape)
    if batch_index is None:
        noise = torch.randn(shape, dtype=torch.float32, generator=gen, device="cpu")
    else:
        idx = [int(i) for i in batch_index]
        if len(idx) != shape[0] or min(idx, default=0) < 0:
            raise ValueError(f"batch_index {idx} does not fit a batch of {shape[0]}")
        draws = [
            torch.randn([1, *shape[1:]], dtype=torch.float32, generator=gen, device="cpu")
            for _ in range(max(idx) + 1)
        ]
        noise = torch.cat([draws[i] for i in idx])
    return noise.to(samples.dtype).to(samples.device)


def step_seed(seed: int, stream: str, index: int) -> int:
    """A 64-bit generator seed derived from (seed, stream, absolute step index)."""
    key = f"graphrt/{stream}/{wrap_seed(seed)}/{index}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


def step_noise(like: torch.Tensor, seed: int, stream: str, index: int) -> torch.Tensor:
    """Standard normal noise shaped like `like`, drawn on CPU for (seed, stream, index)."""
    gen = torch.Generator("cpu").manual_seed(step_seed(seed, stream, index))
    noise = torch.randn(like.shape, dtype=torch.float32, generator=gen, device="cpu")
    return noise.to(device=like.device, dtype=like.dtype)


class StepNoise:
    """noise_sampler(σ, σ_next) for ancestral steps: the noise of absolute step offset + i.

    `sigmas` is the list the sampler runs over; the step i is the one whose (σ_i, σ_{i+1})
    the query matches, or, for samplers that draw inside a step (seeds_2, seeds_3), whose
    interval holds the query; it is searched forward from the previous one (robust to
    repeated sigmas). The k-th draw of a step (k ≥ 1) comes from stream "<stream>/k", so the
    first draw of every step is what one-draw samplers get.
    """

    def __init__(
        self,
        like: torch.Tensor,
        sigmas: torch.Tensor,
        seed: int,
        *,
        offset: int = 0,
        stream: str = "ancestral",
    ) -> None:
        self.like, self.seed, self.offset, self.stream = like, seed, offset, stream
        self.keys = sigmas.detach().cpu().tolist()
        self.cursor, self.drawn = 0, 0

    def _within(self, i: int, sigma: float, sigma_next: float) -> bool:
        a, b = float(self.keys[i]), float(self.keys[i + 1])
        lo, hi = min(a, b) * (1 - 1e-6), max(a, b) * (1 + 1e-6)
        return lo <= sigma <= hi and lo <= sigma_next <= hi

    def index(self, sigma: float, sigma_next: float) -> int:
        """Position i of the step σ → σ_next in the range (≥ the previous one)."""
        for match in (lambda j: self.keys[j] == sigma and self.keys[j + 1] == sigma_next,
                      lambda j: self._within(j, sigma, sigma_next)):
            for i in range(self.cursor, len(self.keys) - 1):
                if match(i):
                    if i != self.cursor:
                        self.cursor, self.drawn = i, 0
                    return i
        raise ValueError(f"step {sigma} → {sigma_next} is not in the sigma list")

    def __call__(self, sigma: Scalar, sigma_next: Scalar) -> torch.Tensor:
        i = self.index(float(sigma), float(sigma_next))
        k, self.drawn = self.drawn, self.drawn + 1
        stream = self.stream if k == 0 else f"{self.stream}/{k}"
        return step_noise(self.like, self.seed, stream, self.offset + i)


class BrownianNoise:
    """noise_sampler(σ, σ_next) = (W(σ_next) − W(σ))/√|σ_next − σ| on a CPU Brownian tree.

    The tree spans [min positive σ, max σ] of the full schedule (rounded to its 1e-6 grid,
    queries clamped into it) and is seeded with the seed; its values do not depend on the
    order or location of earlier queries, so any range of the schedule sees the same path.
    """

    def __init__(self, like: torch.Tensor, full_sigmas: Sequence[float], seed: int) -> None:
        import torchsde  # heavy; only SDE samplers need it

        positive = [float(s) for s in full_sigmas if s > 0]
        self.lo, self.hi = round(min(positive), 6), round(max(positive), 6)
        if self.hi <= self.lo:
            self.hi = self.lo + 1e-6
        w0 = torch.zeros(like.shape, dtype=torch.float32, device="cpu")
        self.tree = torchsde.BrownianTree(self.lo, w0, self.hi, entropy=wrap_seed(seed))
        self.like = like

    def __call__(self, sigma: Scalar, sigma_next: Scalar) -> torch.Tensor:
        a = min(max(float(sigma), self.lo), self.hi)
        b = min(max(float(sigma_next), self.lo), self.hi)
        if a == b:
            return torch.zeros_like(self.like)
        lo, hi = min(a, b), max(a, b)
        w: torch.Tensor = self.tree(lo, hi) * (1.0 if b > a else -1.0) / abs(b - a) ** 0.5
        return w.to(device=self.like.device, dtype=self.like.dtype)
