"""Run settings that change numbers: the compute device and the weights' dtype.

They come from the Runtime (hosts read flags or environment variables and pass them in;
nothing reads the environment inside an op). Ops declared with `device=True` get both in
their cache keys, so a disk cache shared by a CPU run and a GPU fp16 run never hands one the
other's results.

"auto" is resolved without importing torch (commands that only plan stay fast): torch's own
answer when torch is already loaded, else whether an NVIDIA driver is present and not hidden
by CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

DTYPES = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class RunSettings:
    """Resolved settings: `device` as torch names it ("cpu", "cuda", "cuda:1"), `dtype` of
    model weights on that device ("fp32", "fp16", "bf16")."""

    device: str = "cpu"
    dtype: str = "fp32"

    @classmethod
    def resolve(cls, device: str = "auto", dtype: str = "auto") -> RunSettings:
        """Settings for a requested device and dtype ("auto" for either)."""
        chosen = auto_device() if device == "auto" else device
        if not chosen or chosen.split(":")[0] not in ("cpu", "cuda", "mps", "xpu"):
            raise ValueError(f"unknown device {device!r}: auto, cpu, cuda, cuda:N, mps, xpu")
        if dtype == "auto":
            dtype = "fp32" if chosen == "cpu" else "fp16"
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}: auto, {', '.join(DTYPES)}")
        return cls(chosen, dtype)

    def key(self) -> list[str]:
        """What enters the keys of device-dependent ops: the kind of device and the dtype
        (devices of one kind compute alike, so "cuda:0" and "cuda:1" share results)."""
        return [self.device.split(":")[0], self.dtype]


def auto_device() -> str:
    """"cuda" when a CUDA device is usable, else "cpu" (see the module docstring)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1")
    driver = Path("/proc/driver/nvidia/version").exists()
    return "cuda" if driver and not hidden else "cpu"
