"""The diffusers UNet behind graphrt's `DiffusionModel` (the `Net` protocol).

`UNetNet(c_in·x, t, context, y)` returns the UNet's prediction (ε, or v for v-prediction
checkpoints) in the input's dtype. SDXL's added conditioning arrives precomputed in `y`
(docs/semantics.md §12.2: pooled text embedding, then the sinusoidal embeddings of the
size/crop/target or aesthetic ids, as `text.encode_sdxl*` builds it). The diffusers UNet would
embed raw time ids itself with its parameter-free `add_time_proj`; that module is replaced by
the identity, so
`added_cond_kwargs = {"text_embeds": y[:, :P], "time_ids": y[:, P:]}` reaches `add_embedding`
as exactly `y`. Runs under `torch.no_grad`, on the placement's device and dtype.
"""

from __future__ import annotations

from typing import Any

import torch

from .devices import Placement


class UNetNet:
    """Callable (x_in [N,4,h,w], t [N], context [N,T,D], y [N,P] | None) → prediction."""

    def __init__(self, unet: Any, placement: Placement, pooled_dim: int | None) -> None:
        self.unet, self.placement, self.pooled_dim = unet, placement, pooled_dim
        if pooled_dim is not None:
            unet.add_time_proj = torch.nn.Identity()

    @property
    def adm_dim(self) -> int | None:
        """Width of the y vector the UNet takes (None for SD 1.x)."""
        return self.unet.config.projection_class_embeddings_input_dim if self.pooled_dim else None

    @torch.no_grad()
    def __call__(self, x_in: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                 y: torch.Tensor | None) -> torch.Tensor:
        device, dtype = self.placement.use()
        kwargs: dict[str, Any] = {}
        if self.pooled_dim is not None:
            if y is None:
                raise ValueError("an SDXL model needs conditioning with an ADM vector 'y' "
                                 "(encode with text.encode_sdxl / text.encode_sdxl_refiner)")
            if y.shape[-1] != self.adm_dim:
                raise ValueError(f"ADM vector y has width {y.shape[-1]}, this UNet takes "
                                 f"{self.adm_dim} (base and refiner conditioning differ)")
            y = y.to(device, dtype)
            kwargs["added_cond_kwargs"] = {"text_embeds": y[:, : self.pooled_dim],
                                           "time_ids": y[:, self.pooled_dim :]}
        out: torch.Tensor = self.unet(x_in.to(device, dtype), t.to(device),
                                      context.to(device, dtype), return_dict=False, **kwargs)[0]
        return out.to(x_in.device, x_in.dtype)

    def to(self, device: Any) -> UNetNet:
        """Compute on `device` from now on (graphrt's DiffusionModel.to calls this)."""
        self.placement.move(device)
        return self
