"""ComfyUI's ModelSamplingDiscrete variants: zero-terminal-SNR and LCM's distilled tables.

- `zsnr_table(table)`: √ᾱ_t = 1/√(σ_t²+1) shifted so the last is 0 and rescaled so the first
  is unchanged, √ᾱ'_t = (√ᾱ_t − √ᾱ_T)·√ᾱ_0/(√ᾱ_0 − √ᾱ_T); ᾱ'_T is then set to
  4.8973451890853435e-08 (ComfyUI's constant: σ_T ≈ 4518.8 instead of ∞), σ'_t = √((1−ᾱ')/ᾱ').
- `lcm_table(table)`: the 50 timesteps LCM was distilled on, index i ↔ timestep 20·i + 19:
  σ'_i = σ_{999 − 20·(49 − i)}; the network then sees timestep 20·(table index) + 19.
- `lcm_denoised`: with t that timestep, x0 = x − σ·ε̂, c_skip = 0.25/((10t)² + 0.25),
  c_out = 10t/√((10t)² + 0.25), D = c_out·x0 + c_skip·x (ComfyUI's `LCM.calculate_denoised`).
Tables are pure Python (float64), like `table.py`.
"""

from __future__ import annotations

import math

import torch

LCM_STEPS = 50
ZSNR_LAST_ALPHA_BAR = 4.8973451890853435e-08


def zsnr_table(table: tuple[float, ...]) -> tuple[float, ...]:
    """The table rescaled to zero terminal SNR (ComfyUI's rescale_zero_terminal_snr_sigmas)."""
    roots = [1.0 / math.sqrt(s * s + 1.0) for s in table]
    first, last = roots[0], roots[-1]
    scale = first / (first - last)
    bars = [((r - last) * scale) ** 2 for r in roots]
    bars[-1] = ZSNR_LAST_ALPHA_BAR
    return tuple(math.sqrt((1.0 - a) / a) for a in bars)


def lcm_skip(table: tuple[float, ...]) -> int:
    return len(table) // LCM_STEPS


def lcm_table(table: tuple[float, ...]) -> tuple[float, ...]:
    """The 50-entry table LCM models were distilled on (ModelSamplingDiscreteDistilled)."""
    skip, n = lcm_skip(table), len(table)
    return tuple(table[n - 1 - (LCM_STEPS - 1 - i) * skip] for i in range(LCM_STEPS))


def lcm_denoised(x: torch.Tensor, sigma: torch.Tensor, t: torch.Tensor, out: torch.Tensor
                 ) -> torch.Tensor:
    """LCM's boundary-condition denoiser from ε̂ `out` at σ (shaped like x's batch) and t."""
    ts = (t.to(x.dtype) * 10.0).reshape(sigma.shape)
    x0 = x - out * sigma
    c_skip = 0.25 / (ts * ts + 0.25)
    c_out = ts / (ts * ts + 0.25).sqrt()
    return c_out * x0 + c_skip * x
