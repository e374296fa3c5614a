"""Original-layout state dict → diffusers/transformers state dicts, loaded strictly.

The renaming is diffusers' own single-file conversion (`convert_ldm_unet_checkpoint`,
`convert_ldm_vae_checkpoint`, `convert_ldm_clip_checkpoint`, `convert_open_clip_checkpoint`).
What this module adds is strictness with useful names: every parameter the model expects must
come out of the conversion with the right shape, nothing extra may come out, and every file key
under a component's prefix must be used. Errors name the file's key: an unexpected converted
key is traced back to the file key it came from (by tensor identity), and a missing one is
named after the file key its converted sibling came from (`…weight` next to `…bias`).

Keys that are not weights of the loaded components are ignored: anything outside the component
prefixes (`alphas_cumprod`, `model_ema.*`, `lvlb_weights`, …), `position_ids` buffers and
OpenCLIP's `logit_scale`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .detect import UNET, VAE, Family

IGNORED_SUFFIXES = ("position_ids", "logit_scale")
OPEN_CLIP_BY_NAME = ("in_proj_weight", "in_proj_bias", "text_projection")


class StrictLoadError(ValueError):
    """Missing, unexpected or misshapen keys between a file and the model built for it."""


def convert_unet(state: Mapping[str, torch.Tensor], config: dict[str, Any]
                 ) -> tuple[dict[str, Any], list[str]]:
    """(converted UNet weights, file keys the converter needed but the file lacks)."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    patched: dict[str, torch.Tensor] = dict(state)
    absent: list[str] = []
    while True:  # the converter indexes a few keys directly: note each absent one, go on
        try:
            out: dict[str, Any] = convert_ldm_unet_checkpoint(  # type: ignore[no-untyped-call]
                patched, config)
            break
        except KeyError as err:
            key = UNET + str(err.args[0])
            if key in patched or len(absent) > 64:
                raise
            absent.append(key)
            patched[key] = torch.empty(0)
    holes = {id(patched[k]) for k in absent}
    return {k: v for k, v in out.items() if id(v) not in holes}, absent


def convert_vae(state: Mapping[str, torch.Tensor], config: dict[str, Any]) -> dict[str, Any]:
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    sub = {k: v for k, v in state.items() if k.startswith(VAE)}
    return dict(convert_ldm_vae_checkpoint(sub, config))  # type: ignore[no-untyped-call]


def convert_clip_l(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, Any]:
    """OpenAI layout → transformers 5 `CLIPTextModel` keys (which have no `text_model.`)."""
    from diffusers.loaders.single_file_utils import convert_ldm_clip_checkpoint

    sub = {k: v for k, v in state.items() if k.startswith(prefix)}
    out: dict[str, Any] = convert_ldm_clip_checkpoint(  # type: ignore[no-untyped-call]
        sub, remove_prefix=prefix)
    return {k.removeprefix("text_model."): v for k, v in out.items()}


def convert_clip_g(model: Any, state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, Any]:
    """OpenCLIP layout → `CLIPTextModelWithProjection` keys (q/k/v split, projection
    transposed)."""
    from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint

    sub = {k: v for k, v in state.items() if k.startswith(prefix)}
    return dict(convert_open_clip_checkpoint(  # type: ignore[no-untyped-call]
        model, sub, prefix=prefix))


class Origins:
    """Traces converted tensors back to the file keys they came from."""

    def __init__(self, state: Mapping[str, torch.Tensor]) -> None:
        self.by_id = {id(v): k for k, v in state.items()}
        self.by_ptr = {v.data_ptr(): k for k, v in state.items()
                       if v.device.type != "meta" and v.numel()}
        self.used: set[str] = set()

    def of(self, value: Any) -> str | None:
        if id(value) in self.by_id:
            return self.by_id[id(value)]
        if isinstance(value, torch.Tensor) and value.device.type != "meta" and value.numel():
            return self.by_ptr.get(value.data_ptr())
        return None

    def mark(self, converted: Mapping[str, Any]) -> dict[str, str]:
        """Record the file keys used by `converted`; converted key → file key."""
        out = {}
        for key, value in converted.items():
            origin = self.of(value)
            if origin is not None:
                out[key] = origin
                self.used.add(origin)
        return out


def load_strict(module: torch.nn.Module, converted: dict[str, Any], origins: Origins,
                what: str, dtype: torch.dtype) -> list[str]:
    """Load `converted` into `module` (built on the meta device) and return [], or return
    the problems, each naming the file's key, and load nothing."""
    expected = module.state_dict()
    converted = {k: v for k, v in converted.items()  # None: .get() of an absent key
                 if v is not None and (k in expected or not k.endswith(IGNORED_SUFFIXES))}
    names = origins.mark(converted)
    problems = []
    for key in sorted(set(converted) - set(expected)):
        problems.append(f"unexpected key {names.get(key, key)!r} (becomes {what} {key!r})")
    for key in sorted(set(expected) - set(converted)):
        problems.append(f"missing key {_guess(key, names)!r} ({what} {key!r})")
    for key in sorted(set(expected) & set(converted)):
        got = tuple(converted[key].shape)
        if got != tuple(expected[key].shape):
            problems.append(f"key {names.get(key, key)!r} has shape {got}, "
                            f"{what} expects {tuple(expected[key].shape)}")
    if problems:
        return [f"{what}: {p}" for p in problems]
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in converted.items()}
    module.load_state_dict(state, strict=True, assign=True)
    return []


def _guess(key: str, names: Mapping[str, str]) -> str:
    """The file key that would have become `key`: its converted sibling's file key with the
    differing tail swapped (…norm1.weight is missing, …norm1.bias came from
    …in_layers.0.bias, so the file lacks …in_layers.0.weight)."""
    parts = key.split(".")
    best, best_len = None, 0
    for other, origin in names.items():
        o = other.split(".")
        n = 0
        while n < min(len(o), len(parts)) and o[n] == parts[n]:
            n += 1
        tail = ".".join(o[n:])
        if n > best_len and tail and origin.endswith("." + tail):
            best, best_len = origin[: -len(tail)] + ".".join(parts[n:]), n
    return best or key


def check_unused(state: Mapping[str, torch.Tensor], family: Family, origins: Origins
                 ) -> list[str]:
    """Problems: file keys under a loaded component's prefix that no conversion used."""
    prefixes = [p for p in (UNET, VAE, family.clip_l, family.clip_g) if p]
    unused = []
    for key in state:
        if not any(key.startswith(p) for p in prefixes) or key.endswith(IGNORED_SUFFIXES):
            continue
        if family.clip_g and key.startswith(family.clip_g) and key.endswith(OPEN_CLIP_BY_NAME):
            continue  # split or transposed by the converter: new tensors, checked by name
        if key not in origins.used:
            unused.append(key)
    return [f"unexpected key {k!r} in the file (used by no component)" for k in sorted(unused)]
