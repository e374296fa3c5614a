"""Where real models compute, in which dtype, and how they share GPU memory.

- dtype: fp32 on the CPU; on CUDA the run's dtype (the Runtime's `dtype` setting: fp16 by
  default, bf16 or fp32), except the SDXL VAE, which stays fp32 (it overflows in fp16).
- Weights live on the CPU until a component is used; `Placement.use()` moves its module to
  the compute device through the process-wide `OFFLOADER`, which keeps the modules resident on
  a GPU under a byte budget (GRAPHRT_GPU_BUDGET_GB, default 90 % of the device's memory) and
  moves the least recently used ones back to the CPU to make room.
- Offloaders count their moves (`Offloader.moves`; none while every module has only ever
  been on the CPU): a placement whose module was put on its device with no move since skips
  `Module.to`, a walk over every tensor even when nothing moves (milliseconds per UNet call).
  A module moved outside an offloader is put back at the next move through one.
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from typing import Any, ClassVar

import torch

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def resolve(device: Any) -> torch.device:
    """"auto" → cuda when present; anything else as torch understands it."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def compute_dtype(device: torch.device, component: str, sdxl: bool, dtype: str) -> torch.dtype:
    """The dtype a component's weights are kept in for `device`, given the run's dtype."""
    if device.type == "cpu" or (component == "vae" and sdxl):
        return torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


def module_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


class Offloader:
    """Modules resident on accelerators, least recently used first, under a byte budget."""

    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = budget_bytes
        self.resident: OrderedDict[int, tuple[weakref.ref[torch.nn.Module], int]] = OrderedDict()

    moves: ClassVar[int] = 0  # Module.to calls by any offloader that may have moved a tensor
    off_cpu: ClassVar[bool] = False  # a module was ever put on another device than the CPU

    @staticmethod
    def _to(module: torch.nn.Module, device: torch.device | str) -> None:
        """Module.to, counted as a move unless every module was only ever on the CPU."""
        if torch.device(device).type != "cpu":
            Offloader.off_cpu = True
        if Offloader.off_cpu:
            Offloader.moves += 1
        module.to(device)

    def budget(self, device: torch.device) -> int:
        if self.budget_bytes is not None:
            return self.budget_bytes
        env = os.environ.get("GRAPHRT_GPU_BUDGET_GB")
        if env:
            return int(float(env) * 2**30)
        if device.type == "cuda":
            return int(torch.cuda.get_device_properties(device).total_memory * 0.9)
        return 2**62

    def used(self) -> int:
        return sum(size for ref, size in self.resident.values() if ref() is not None)

    def acquire(self, module: torch.nn.Module, device: torch.device) -> None:
        """Put `module` on `device`, first offloading least recently used modules to the CPU
        if the accelerator's budget would be exceeded."""
        key = id(module)
        if device.type == "cpu":
            self.resident.pop(key, None)
            self._to(module, device)
            return
        if key in self.resident and self.resident[key][0]() is module:
            self.resident.move_to_end(key)
            self._to(module, device)  # a no-op when already there
            return
        size = module_bytes(module)
        budget = self.budget(device)
        while self.resident and self.used() + size > budget:
            _, (ref, _size) = self.resident.popitem(last=False)
            victim = ref()
            if victim is not None:
                self._to(victim, "cpu")
        self._to(module, device)
        self.resident[key] = (weakref.ref(module), size)

    def release(self, module: torch.nn.Module) -> None:
        """Move `module` back to the CPU."""
        self.acquire(module, torch.device("cpu"))


OFFLOADER = Offloader()


class Placement:
    """A module's compute device and weight dtype; `use()` makes it resident there."""

    def __init__(self, module: torch.nn.Module, device: torch.device, dtype: torch.dtype,
                 offloader: Offloader = OFFLOADER) -> None:
        self.module, self.device, self.dtype, self.offloader = module, device, dtype, offloader
        self._placed: tuple[int, torch.device] | None = None  # (Offloader.moves, device)

    def use(self) -> tuple[torch.device, torch.dtype]:
        off = self.offloader
        if self._placed == (Offloader.moves, self.device):  # there, and nothing moved since
            if id(self.module) in off.resident:
                off.resident.move_to_end(id(self.module))  # most recently used
            return self.device, self.dtype
        off.acquire(self.module, self.device)
        self._placed = (Offloader.moves, self.device)
        return self.device, self.dtype

    def move(self, device: Any) -> None:
        """Compute on `device` from now on (weights move when next used)."""
        self.device = resolve(device)
