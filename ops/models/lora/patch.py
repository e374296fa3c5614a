"""New model values with some weights replaced, sharing everything else with their base.

A patched module is a shallow copy of the base's module tree: only the modules on the path to
a replaced parameter are copied (their parameter/child dicts are new), and every other
parameter *object* is the base's own, so unpatched weights exist once in memory (on the CPU
and, after `Placement.use()` moves a tree, on the accelerator). The base value is never
mutated. Patched weights are new tensors: W + Σ strength·delta, computed in float32 on W's
device and stored in W's dtype.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..real.devices import Placement
from .keys import LoraKeyError, Pair
from .names import aliases, weighted

WHAT = {"unet": "UNet", "clip_l": "CLIP-L text encoder", "clip_g": "CLIP-bigG text encoder"}


def unet_of(model: Any) -> torch.nn.Module | None:
    """The UNet module of a real MODEL value (None for the toy family)."""
    unet = getattr(getattr(model, "net", None), "unet", None)
    return unet if isinstance(unet, torch.nn.Module) else None


def encoders_of(clip: Any) -> dict[str, torch.nn.Module]:
    """The text encoder modules of a real CLIP value by component ({} for the toy family)."""
    return {k: m for k in ("clip_l", "clip_g")
            if isinstance(m := getattr(clip, k, None), torch.nn.Module)}


def _shallow(module: torch.nn.Module) -> torch.nn.Module:
    out = copy.copy(module)
    out._parameters = dict(module._parameters)
    out._buffers = dict(module._buffers)
    out._modules = dict(module._modules)
    return out


def replace_params(root: torch.nn.Module, new: dict[str, torch.Tensor]) -> torch.nn.Module:
    """A copy of `root` whose parameters named in `new` are those tensors; all else shared."""
    out = _shallow(root)
    copied: set[int] = {id(out)}
    for name, tensor in new.items():
        *path, param = name.split(".")
        parent = out
        for part in path:
            child = parent._modules[part]
            assert child is not None
            if id(child) not in copied:
                child = _shallow(child)
                copied.add(id(child))
                parent._modules[part] = child
            parent = child
        if param not in parent._parameters:
            raise KeyError(f"no parameter {name!r} to replace")
        parent._parameters[param] = torch.nn.Parameter(tensor, requires_grad=False)
    return out


def lora_weights(component: str, module: torch.nn.Module, found: list[Pair],
                 strength: float) -> dict[str, torch.Tensor]:
    """New weights for `module` from its pairs: W + strength·scale·(up @ down). Every pair
    must name a layer (LoraKeyError otherwise, also at strength 0)."""
    names, layers = aliases(component, module), weighted(module)
    out: dict[str, torch.Tensor] = {}
    for pair in found:
        target = names.get(pair.name)
        if target is None:
            raise LoraKeyError(f"LoRA key {pair.key!r} matches no layer of the "
                               f"{WHAT[component]}")
        if strength == 0:
            continue
        weight = layers[target]._parameters["weight"]
        assert weight is not None
        key = target + ".weight"
        base = out.get(key, weight)
        delta = pair.delta(weight.shape).to(weight.device)
        out[key] = (base.float() + strength * delta).to(weight.dtype)
    return out


def with_unet(model: Any, unet: torch.nn.Module) -> Any:
    """A copy of a real MODEL value computing with `unet` (same device, dtype, options)."""
    net = copy.copy(model.net)
    old: Placement = model.net.placement
    net.unet, net.placement = unet, Placement(unet, old.device, old.dtype, old.offloader)
    out = copy.copy(model)
    out.net = net
    return out


def with_encoders(clip: Any, modules: dict[str, torch.nn.Module]) -> Any:
    """A copy of a real CLIP value computing with `modules` in place of its encoders."""
    out = copy.copy(clip)
    placements = dict(clip.placements)
    for component, module in modules.items():
        old: Placement = clip.placements[component]
        placements[component] = Placement(module, old.device, old.dtype, old.offloader)
        setattr(out, component, module)
    out.placements = placements
    return out
