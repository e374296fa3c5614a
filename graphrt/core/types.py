"""Port types: what flows along a link, and which links are allowed.

A port type is a marker carried in an `Annotated` alias, so op signatures read as ordinary
Python (`def add(p: P, a: Float, b: Float) -> Float`). The core defines only generic kinds
(scalars, files, any); an op library defines its own domain kinds the same way (graphrt's
diffusion kinds live in `graphrt.ops.types`). A registry knows every kind its ops use.
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


INT = PortType("INT")
FLOAT = PortType("FLOAT")
STRING = PortType("STRING")
BOOLEAN = PortType("BOOLEAN")
FILES = PortType("FILES", "paths of files an op wrote, relative to the output folder")
ANY = PortType("ANY", "any value")

GENERIC_TYPES: dict[str, PortType] = {t.name: t for t in (INT, FLOAT, STRING, BOOLEAN, FILES, ANY)}

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
