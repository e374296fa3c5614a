"""Port types: what flows along a link, and which links are allowed.

A port type is a marker carried in an `Annotated` alias, so op signatures read as ordinary
Python (`def decode(p: P, vae: Vae, latent: Latent) -> Image`). The core never imports
torch: the aliases annotate `Any`, and the conventions below are documentation for op authors.

Conventions follow ComfyUI so graphs and users carry over:
LATENT = {"samples": [B,4,H/8,W/8] raw VAE units, optional "noise_mask", optional
"batch_index"}; IMAGE = float [B,H,W,3] in [0,1]; MASK = float [B,H,W] or [H,W] in [0,1];
CONDITIONING = list of [context [1,T,D], {"pooled_output": ..., ...}] entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any


@dataclass(frozen=True)
class PortType:
    """A named kind of value; `accepts` is the link compatibility rule."""

    name: str
    description: str = ""

    def accepts(self, source: PortType) -> bool:
        """True when a value of `source` may feed a port of this type.

        Equal names match; ANY accepts everything; an INT may feed a FLOAT.
        """
        if self.name == source.name or self.name == "ANY" or source.name == "ANY":
            return True
        return self.name == "FLOAT" and source.name == "INT"

    def __str__(self) -> str:
        return self.name


MODEL = PortType("MODEL", "a denoiser (UNet behind a discrete-time sampling wrapper)")
CLIP = PortType("CLIP", "a text encoder")
VAE = PortType("VAE", "an image autoencoder")
CONDITIONING = PortType("CONDITIONING", "a list of [context, options] entries")
LATENT = PortType("LATENT", "{samples, noise_mask?, batch_index?} in raw VAE units")
IMAGE = PortType("IMAGE", "float [B,H,W,3] in [0,1]")
MASK = PortType("MASK", "float [B,H,W] or [H,W] in [0,1]")
UPSCALE_MODEL = PortType("UPSCALE_MODEL", "an image-to-image upscaler")
SIGMAS = PortType("SIGMAS", "a descending noise schedule ending in 0")
SAMPLER = PortType("SAMPLER", "model, conditioning, cfg, sampler, scheduler, sigma factor")
REGIONAL_PROMPTS = PortType("REGIONAL_PROMPTS", "a list of (mask, SAMPLER) regions")
INT = PortType("INT")
FLOAT = PortType("FLOAT")
STRING = PortType("STRING")
BOOLEAN = PortType("BOOLEAN")
FILES = PortType("FILES", "paths of files an op wrote")
ANY = PortType("ANY", "any value")

PORT_TYPES: dict[str, PortType] = {
    t.name: t
    for t in (
        MODEL, CLIP, VAE, CONDITIONING, LATENT, IMAGE, MASK, UPSCALE_MODEL, SIGMAS, SAMPLER,
        REGIONAL_PROMPTS, INT, FLOAT, STRING, BOOLEAN, FILES, ANY,
    )
}

Model = Annotated[Any, MODEL]
Clip = Annotated[Any, CLIP]
Vae = Annotated[Any, VAE]
Conditioning = Annotated[Any, CONDITIONING]
Latent = Annotated[dict[str, Any], LATENT]
Image = Annotated[Any, IMAGE]
Mask = Annotated[Any, MASK]
UpscaleModel = Annotated[Any, UPSCALE_MODEL]
Sigmas = Annotated[Any, SIGMAS]
Sampler = Annotated[Any, SAMPLER]
RegionalPrompts = Annotated[Any, REGIONAL_PROMPTS]
Int = Annotated[int, INT]
Float = Annotated[float, FLOAT]
String = Annotated[str, STRING]
Boolean = Annotated[bool, BOOLEAN]
Files = Annotated[list[str], FILES]
AnyValue = Annotated[Any, ANY]


def port_type_of(annotation: Any) -> PortType | None:
    """The PortType marker inside an `Annotated[...]` annotation, if any."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, PortType):
            return meta
    return None
