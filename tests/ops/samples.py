"""Small sample values of every port type, built on the toy models (for op-level tests)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from graphrt.ops.models.toy import load_toy


@lru_cache(maxsize=1)
def toy() -> tuple[Any, Any, Any]:
    return load_toy("toy-shapes")


class TinyUpscaler(torch.nn.Module):
    """A ×2 upscaler with the interface of a spandrel descriptor (scale, to, __call__)."""

    scale = 2

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.nn.functional.interpolate(x, scale_factor=2.0))


def sample_value(port_type: str, *, size: int = 64) -> Any:
    """A fresh value of the given port type (images are size×size pixels)."""
    g = torch.Generator().manual_seed(0)
    model, clip, vae = toy()
    h = size // 8
    if port_type == "MODEL":
        return model
    if port_type == "CLIP":
        return clip
    if port_type == "VAE":
        return vae
    if port_type == "CONDITIONING":
        context, pooled = clip.encode("a red circle on the left")
        return [[context, {"pooled_output": pooled}]]
    if port_type == "LATENT":
        mask = torch.zeros(1, 1, h, h)
        mask[..., : h // 2] = 1.0
        return {"samples": torch.randn(1, 4, h, h, generator=g), "noise_mask": mask,
                "batch_index": [0]}
    if port_type == "IMAGE":
        return torch.rand(1, size, size, 3, generator=g)
    if port_type == "MASK":
        return (torch.rand(1, size, size, generator=g) > 0.5).float()
    if port_type == "UPSCALE_MODEL":
        return TinyUpscaler()
    if port_type == "SAMPLER":
        cond = sample_value("CONDITIONING")
        return {"model": model, "positive": cond, "negative": cond, "cfg": 2.0,
                "sampler": "euler", "scheduler": "karras", "sigma_factor": 1.0}
    if port_type == "SIGMAS":
        return [14.6146, 2.0, 0.5, 0.0]
    if port_type == "SAMPLER_FN":
        return {"name": "euler_ancestral"}
    if port_type == "NOISE":
        return {"add": True, "seed": 3}
    if port_type == "GUIDER":
        cond = sample_value("CONDITIONING")
        return {"model": model, "positive": cond, "negative": cond, "cfg": 2.0}
    if port_type == "REGIONAL_PROMPTS":
        return [{"mask": sample_value("MASK", size=size), "sampler": sample_value("SAMPLER")}]
    if port_type == "KSAMPLER":
        cond = sample_value("CONDITIONING")
        return {"model": model, "positive": cond, "negative": cond, "seed": 2, "steps": 2,
                "cfg": 2.0, "sampler": "euler_ancestral", "scheduler": "karras", "denoise": 1.0}
    if port_type == "FLOAT":
        return 0.5
    if port_type == "BASIC_PIPE":
        return tuple(sample_value(t) for t in ("MODEL", "CLIP", "VAE", "CONDITIONING",
                                               "CONDITIONING"))
    raise KeyError(port_type)


def write_tiny_esrgan(folder: Path, name: str = "tiny", *, pickle: bool = False) -> None:
    """A seeded ×2 ESRGAN (8 filters, 1 block) as `<folder>/<name>.safetensors` (and .pth)."""
    from safetensors.torch import save_file
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    net = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_file(state, folder / f"{name}.safetensors")
    if pickle:
        torch.save(net.state_dict(), folder / f"{name}.pth")
