"""Rounding to float32 in pure Python (no torch): what a float32 tensor would hold, for
arithmetic that must match the samplers' float32 numbers step by step."""

from __future__ import annotations

import math
import struct


def f32(v: float) -> float:
    """`v` rounded to the nearest float32 (±inf beyond its range)."""
    try:
        out: float = struct.unpack("f", struct.pack("f", v))[0]
        return out
    except OverflowError:
        return math.copysign(math.inf, v)
