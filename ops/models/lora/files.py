"""Reading LoRA files: `.safetensors`, or `.pt`/`.ckpt`/`.bin` pickles through
`torch.load(weights_only=True)` only, so a pickle that would run code is refused unexecuted."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

SAFETENSORS = (".safetensors", ".sft")
PICKLES = (".pt", ".ckpt", ".bin", ".pth")


class UnsafePickle(ValueError):
    """A pickled file that holds more than tensors (it was not executed)."""


def read_lora(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a LoRA file, on the CPU."""
    if path.suffix in SAFETENSORS:
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    if path.suffix not in PICKLES:
        raise ValueError(f"{path.name}: unsupported LoRA file type {path.suffix!r}; use "
                         f"{', '.join(SAFETENSORS + PICKLES)}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafePickle(f"{path.name}: refused to load: this pickle holds more than tensors "
                           f"(loaded with weights_only=True; nothing in it was run): "
                           f"{str(err).splitlines()[0]}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path.name}: no state dict inside")
    return {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
