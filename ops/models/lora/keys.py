"""A LoRA state dict → low-rank pairs, one per target layer; every key is accounted for.

Layouts read:
- kohya / original: `lora_unet_<name>`, `lora_te_<name>` (SD 1.x CLIP-L), `lora_te1_<name>` /
  `lora_te2_<name>` (SDXL CLIP-L / bigG), each with `.lora_down.weight`, `.lora_up.weight` and
  an optional `.alpha`; `<name>` is a diffusers/transformers module name or, for the UNet, an
  original LDM one, with "." as "_". LoCon conv layers (conv `lora_down`, 1×1 `lora_up`) too.
- diffusers / PEFT: `unet.<name>`, `text_encoder.<name>` (CLIP-L), `text_encoder_2.<name>`
  (bigG), each with `.lora_A.weight` / `.lora_B.weight` (or the older `.lora.down.weight` /
  `.lora.up.weight`) and an optional `.alpha`.
scale = alpha / rank when alpha is given, else 1 (as ComfyUI). Any other key (LyCORIS LoHa /
LoKr, CP-decomposed `lora_mid`, DoRA scales, unknown prefixes) is an error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

KOHYA = (("lora_unet_", "unet"), ("lora_te1_", "clip_l"), ("lora_te2_", "clip_g"),
         ("lora_te_", "clip_l"))
DOTTED = (("unet.", "unet"), ("text_encoder_2.", "clip_g"), ("text_encoder.", "clip_l"))
KOHYA_PARTS = {"lora_down.weight": "down", "lora_up.weight": "up", "alpha": "alpha"}
DOTTED_PARTS = ((".lora_A.weight", "down"), (".lora_B.weight", "up"),
                (".lora.down.weight", "down"), (".lora.up.weight", "up"), (".alpha", "alpha"))


class LoraKeyError(ValueError):
    """A LoRA key graphrt cannot apply (unknown layout or no matching layer)."""


@dataclass
class Pair:
    """One layer's low-rank update: delta = scale · (up @ down)."""

    component: str  # "unet" | "clip_l" | "clip_g"
    name: str  # the layer's name as the file spells it
    key: str  # a file key of this pair, for messages
    down: torch.Tensor | None = None
    up: torch.Tensor | None = None
    alpha: float | None = None

    @property
    def scale(self) -> float:
        assert self.down is not None
        return 1.0 if self.alpha is None else self.alpha / self.down.shape[0]

    def delta(self, shape: torch.Size) -> torch.Tensor:
        """scale · (up @ down) in float32, shaped like the weight (conv kernels flattened)."""
        assert self.down is not None and self.up is not None
        up, down = self.up.float().flatten(1), self.down.float().flatten(1)
        if up.shape[1] != down.shape[0]:
            raise LoraKeyError(f"LoRA key {self.key!r}: up {tuple(self.up.shape)} and down "
                               f"{tuple(self.down.shape)} ranks differ")
        product = up @ down
        if product.numel() != shape.numel():
            raise LoraKeyError(f"LoRA key {self.key!r}: update of shape "
                               f"{tuple(product.shape)} does not fit weight {tuple(shape)}")
        return (self.scale * product).reshape(shape)


def _split(key: str) -> tuple[str, str, str]:
    """(component, layer name, part) of a file key."""
    for prefix, component in KOHYA:
        if key.startswith(prefix):
            stem, _, part = key.partition(".")
            if part in KOHYA_PARTS:
                return component, stem[len(prefix):], KOHYA_PARTS[part]
            raise LoraKeyError(f"LoRA key {key!r}: unsupported part {part!r} (supported: "
                               f"{', '.join(KOHYA_PARTS)}; LoHa/LoKr/lora_mid/DoRA are not)")
    for prefix, component in DOTTED:
        if key.startswith(prefix):
            for suffix, part in DOTTED_PARTS:
                if key.endswith(suffix):
                    return component, key[len(prefix):-len(suffix)], part
            raise LoraKeyError(f"LoRA key {key!r}: unsupported part (expected lora_A/lora_B, "
                               f"lora.down/lora.up or alpha)")
    raise LoraKeyError(f"LoRA key {key!r}: unknown layout (expected lora_unet_/lora_te_/"
                       f"lora_te1_/lora_te2_ or unet./text_encoder./text_encoder_2. keys)")


def pairs(state: dict[str, torch.Tensor]) -> list[Pair]:
    """The pairs of a LoRA state dict, in key order; raises LoraKeyError naming a bad key."""
    found: dict[tuple[str, str], Pair] = {}
    for key in sorted(state):
        component, name, part = _split(key)
        pair = found.setdefault((component, name), Pair(component, name, key))
        value = state[key]
        if part == "alpha":
            pair.alpha = float(value.float().reshape(-1)[0])
        else:
            setattr(pair, part, value)
    for pair in found.values():
        if pair.down is None or pair.up is None:
            raise LoraKeyError(f"LoRA key {pair.key!r}: its "
                               f"{'down' if pair.down is None else 'up'} weight is missing")
    return list(found.values())
