"""Upscale-model kernels: safe loading through spandrel, and tiled inference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def load_upscale_model(path: Path, device: str = "cpu") -> Any:
    """An ESRGAN-family model from .safetensors, or from a pickle with weights_only=True,
    on `device`."""
    import spandrel

    if not path.is_file():
        raise FileNotFoundError(f"no upscale model {path.name!r} in {path.parent}")
    state: dict[str, Any]
    if path.suffix in (".safetensors", ".sft"):
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "params_ema" in state:
        state = state["params_ema"]
    elif isinstance(state, dict) and "params" in state:
        state = state["params"]
    descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    return descriptor.to(device).eval()


def upscale_tiled(model: Any, image: torch.Tensor, tile: int = 512, overlap: int = 32
                  ) -> torch.Tensor:
    """Run `model` over [B,H,W,3] in overlapping tiles (halving the tile on OOM); [0,1].
    The model and the image are on the same device already."""
    x = image.movedim(-1, 1)
    scale = int(getattr(model, "scale", 1))
    while True:
        try:
            return _tiles(model, x, tile, overlap, scale).clamp(0, 1).movedim(1, -1)
        except torch.OutOfMemoryError:
            if tile <= 64:
                raise
            tile //= 2


@torch.no_grad()
def _tiles(model: Any, x: torch.Tensor, tile: int, overlap: int, scale: int) -> torch.Tensor:
    b, c, h, w = x.shape
    out = torch.zeros(b, c, h * scale, w * scale, device=x.device)
    weight = torch.zeros_like(out)
    step = max(tile - overlap, 1)
    for top in range(0, max(h - overlap, 1), step):
        for left in range(0, max(w - overlap, 1), step):
            t0, l0 = min(top, max(h - tile, 0)), min(left, max(w - tile, 0))
            patch = x[:, :, t0 : t0 + tile, l0 : l0 + tile]
            y = model(patch)
            th, tw = patch.shape[-2] * scale, patch.shape[-1] * scale
            feather = _feather(th, tw, overlap * scale, y.device)
            out[:, :, t0 * scale : t0 * scale + th, l0 * scale : l0 * scale + tw] += y * feather
            weight[:, :, t0 * scale : t0 * scale + th, l0 * scale : l0 * scale + tw] += feather
    return out / weight.clamp(min=1e-8)


def _feather(h: int, w: int, ramp: int, device: Any) -> torch.Tensor:
    """A weight that ramps up over `ramp` pixels at tile edges, so seams blend."""
    def axis(n: int) -> torch.Tensor:
        i = torch.arange(n, device=device, dtype=torch.float32)
        edge = torch.minimum(i + 1, n - i) / max(ramp, 1)
        return edge.clamp(max=1.0)

    return axis(h)[:, None] * axis(w)[None, :] if ramp > 0 else torch.ones(h, w, device=device)


__all__ = ["load_upscale_model", "upscale_tiled"]
