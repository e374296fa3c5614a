"""Tiny LoRA files for the tiny real-layout checkpoints, with their expected updates.

Every pair is random (seeded); `expected` recomputes W + strength·scale·(up @ down) with an
einsum, independently of the library's flatten-and-matmul. Layer names are given in the
diffusers/transformers spelling; kohya files spell them with "_" (and, for `ldm=True`, the
SDXL UNet by its original LDM name, derived with tests/real/reverse.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from tests.real.reverse import unet_to_ldm

KOHYA_PREFIX = {"unet": "lora_unet_", "clip_l": "lora_te_", "clip_l1": "lora_te1_",
                "clip_g": "lora_te2_"}
PEFT_PREFIX = {"unet": "unet.", "clip_l": "text_encoder.", "clip_g": "text_encoder_2."}


@dataclass
class Entry:
    component: str  # "unet" | "clip_l" | "clip_g"
    name: str  # dotted module name in the diffusers/transformers module
    down: torch.Tensor
    up: torch.Tensor
    alpha: float | None

    @property
    def scale(self) -> float:
        return 1.0 if self.alpha is None else self.alpha / self.down.shape[0]

    def expected(self, weight: torch.Tensor, strength: float) -> torch.Tensor:
        up = self.up.reshape(self.up.shape[0], self.up.shape[1])
        if self.down.ndim == 4:
            delta = torch.einsum("or,rikl->oikl", up.double(), self.down.double())
        else:
            delta = torch.einsum("or,ri->oi", up.double(), self.down.double())
        return (weight.double() + strength * self.scale * delta.reshape(weight.shape)).float()


@dataclass
class LoraFile:
    entries: list[Entry] = field(default_factory=list)
    state: dict[str, torch.Tensor] = field(default_factory=dict)


def entry(component: str, name: str, weight: torch.Tensor, rank: int, alpha: float | None,
          gen: torch.Generator) -> Entry:
    """A random pair for `weight` (Linear [o,i] or conv [o,i,k,k]: a LoCon pair)."""
    out_dim, in_dim = weight.shape[0], weight.shape[1]
    if weight.ndim == 4:
        down = torch.randn(rank, in_dim, *weight.shape[2:], generator=gen) * 0.3
        up = torch.randn(out_dim, rank, 1, 1, generator=gen) * 0.3
    else:
        down = torch.randn(rank, in_dim, generator=gen) * 0.3
        up = torch.randn(out_dim, rank, generator=gen) * 0.3
    return Entry(component, name, down, up, alpha)


def kohya_stem(e: Entry, sdxl: bool, unet_config: dict | None = None) -> str:
    name = e.name
    if e.component == "unet" and unet_config is not None:  # SDXL kohya: LDM names
        ldm = next(iter(unet_to_ldm({name + ".weight": None}, unet_config)))
        name = ldm[len("model.diffusion_model."):-len(".weight")]
    prefix = KOHYA_PREFIX["clip_l1" if e.component == "clip_l" and sdxl else e.component]
    return prefix + name.replace(".", "_")


def kohya(entries: list[Entry], sdxl: bool, unet_config: dict | None = None) -> LoraFile:
    out = LoraFile(entries)
    for e in entries:
        stem = kohya_stem(e, sdxl, unet_config)
        out.state[f"{stem}.lora_down.weight"] = e.down.contiguous()
        out.state[f"{stem}.lora_up.weight"] = e.up.contiguous()
        if e.alpha is not None:
            out.state[f"{stem}.alpha"] = torch.tensor(e.alpha)
    return out


def peft(entries: list[Entry]) -> LoraFile:
    out = LoraFile(entries)
    for e in entries:
        stem = PEFT_PREFIX[e.component] + e.name
        out.state[f"{stem}.lora_A.weight"] = e.down.contiguous()
        out.state[f"{stem}.lora_B.weight"] = e.up.contiguous()
        if e.alpha is not None:
            out.state[f"{stem}.alpha"] = torch.tensor(e.alpha)
    return out
