"""Which model family a single-file checkpoint holds, read from its keys (original layout).

- SD 1.x: UNet under `model.diffusion_model.`, VAE under `first_stage_model.`, OpenAI CLIP-L
  under `cond_stage_model.transformer.`.
- SDXL base: CLIP-L under `conditioner.embedders.0.transformer.` and OpenCLIP bigG under
  `conditioner.embedders.1.model.`.
- SDXL refiner: OpenCLIP bigG alone, under `conditioner.embedders.0.model.`.
Anything else (SD 2.x's OpenCLIP under `cond_stage_model.model.`, a bare UNet, …) is an
`UnknownLayout` error that says what was found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

UNET = "model.diffusion_model."
VAE = "first_stage_model."
SD1_CLIP = "cond_stage_model.transformer."
SD2_CLIP = "cond_stage_model.model."
XL_CLIP_L = "conditioner.embedders.0.transformer."
XL_CLIP_G = "conditioner.embedders.1.model."
REFINER_CLIP_G = "conditioner.embedders.0.model."


class UnknownLayout(ValueError):
    """The keys match none of the supported single-file layouts."""


@dataclass(frozen=True)
class Family:
    """A supported model family and its fixed rules (what tensor shapes cannot tell)."""

    name: str  # "sd1", "sdxl", "sdxl_refiner"
    clip_l: str | None  # key prefix of the OpenAI-layout CLIP-L, if any
    clip_g: str | None  # key prefix of the OpenCLIP-layout bigG, if any
    latent_scale: float
    time_ids: int  # size/crop/target (or aesthetic score) values embedded into y; 0 = no y
    sample_size: int  # latent side of the native resolution (diffusers' sample_size)

    @property
    def is_sdxl(self) -> bool:
        return self.clip_g is not None


SD1 = Family("sd1", SD1_CLIP, None, 0.18215, 0, 64)
SDXL = Family("sdxl", XL_CLIP_L, XL_CLIP_G, 0.13025, 6, 128)
SDXL_REFINER = Family("sdxl_refiner", None, REFINER_CLIP_G, 0.13025, 5, 128)
FAMILIES = (SD1, SDXL, SDXL_REFINER)


def _has(keys: set[str], prefix: str) -> bool:
    return any(k.startswith(prefix) for k in keys)


def detect_family(keys: Iterable[str]) -> Family:
    """The family of a checkpoint from its key names; `UnknownLayout` if none matches."""
    keys = set(keys)
    missing = [p for p in (UNET, VAE) if not _has(keys, p)]
    if missing:
        raise UnknownLayout(f"not an SD/SDXL single-file checkpoint: no keys under "
                            f"{', '.join(repr(p) for p in missing)} ({_sample(keys)})")
    if _has(keys, XL_CLIP_G) and _has(keys, XL_CLIP_L):
        return SDXL
    if _has(keys, REFINER_CLIP_G) and not _has(keys, "conditioner.embedders.1."):
        return SDXL_REFINER
    if _has(keys, SD1_CLIP):
        return SD1
    if _has(keys, SD2_CLIP):
        raise UnknownLayout("SD 2.x checkpoints (OpenCLIP under 'cond_stage_model.model.') "
                            "are not supported")
    raise UnknownLayout(f"unknown text-encoder layout: expected {SD1_CLIP!r} (SD 1.x), "
                        f"{XL_CLIP_L!r} + {XL_CLIP_G!r} (SDXL base) or {REFINER_CLIP_G!r} "
                        f"(SDXL refiner) ({_sample(keys)})")


def _sample(keys: set[str]) -> str:
    heads = sorted({".".join(k.split(".")[:2]) for k in keys})
    return f"{len(keys)} keys; groups: {', '.join(heads[:8])}{' …' if len(heads) > 8 else ''}"
