"""Fake ops for testing the runtime without models (as InvokeAI's test nodes)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from graphrt import NoParams, macro, op
from graphrt.core.context import OpContext
from graphrt.core.document import Ref
from graphrt.core.expand import Builder
from graphrt.core.types import Float, Int, PortType, String

TENSORS = PortType("TENSORS", "a dict holding tensors (a fake op library's own kind)")
Tensors = Annotated[dict[str, Any], TENSORS]

CALLS: Counter[str] = Counter()
_lock = threading.Lock()


def count(name: str) -> None:
    with _lock:
        CALLS[name] += 1


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    value: float = Field(0.0, ge=-1e9, le=1e9)


@op("test.const")
def const(p: Value) -> Float:
    """A constant."""
    count("test.const")
    return p.value


@op("test.add")
def add(p: Value, a: Float, b: Float | None = None) -> Float:
    """a + b + value."""
    count("test.add")
    return a + (b or 0.0) + p.value


@op("test.sum")
def total(p: NoParams, *xs: Float) -> Float:
    """Sum of any number of inputs."""
    count("test.sum")
    return float(sum(xs))


class Fail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    fail: bool = True


@op("test.fail")
def fail(p: Fail, a: Float) -> Float:
    """Raises when p.fail, else passes `a` through."""
    count("test.fail")
    if p.fail:
        raise ValueError("asked to fail")
    return a


class Slow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    steps: int = Field(10, ge=1, le=10_000)
    delay: float = Field(0.01, ge=0, le=10)


@op("test.slow")
def slow(p: Slow, a: Float, *, ctx: OpContext) -> Float:
    """Ticks `steps` times, sleeping `delay` between ticks."""
    count("test.slow")
    for i in range(p.steps):
        time.sleep(p.delay)
        ctx.progress(i + 1, p.steps)
    return a


class Pair(NamedTuple):
    low: Float
    high: Float


@op("test.split")
def split(p: Value, a: Float) -> Pair:
    """Two outputs: a − value and a + value."""
    count("test.split")
    return Pair(a - p.value, a + p.value)


class Text(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str = ""
    times: Int = Field(1, ge=0, le=100)


@op("test.text")
def text(p: Text) -> String:
    count("test.text")
    return p.text * p.times


class Tensorish(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    size: int = Field(4, ge=1, le=1024)
    seed: int = 0


@op("test.tensor")
def tensor(p: Tensorish) -> Tensors:
    """A LATENT-like dict holding a seeded tensor (for disk-store tests)."""
    import torch

    count("test.tensor")
    g = torch.Generator().manual_seed(p.seed)
    return {"samples": torch.randn(1, 4, p.size, p.size, generator=g), "batch_index": [0]}


@op("test.mutate")
def mutate(p: NoParams, a: Tensors) -> Tensors:
    """A badly behaved op that mutates its input (strict mode must catch it)."""
    a["samples"].add_(1.0)
    return a


class Repeat(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    times: int = Field(3, ge=0, le=100_000)
    value: float = 1.0


@macro("test.repeat_add")
def repeat_add(p: Repeat, g: Builder, a: Ref[Float]) -> Ref[Float]:
    """Adds `value` `times` times, unrolled into a chain of test.add nodes."""
    x = a
    for i in range(p.times):
        x = g.add("test.add", {"value": p.value}, id=f"step{i}", a=x).out
    return x


FAKE_OPS = [const, add, total, fail, slow, split, text, tensor, mutate, repeat_add]
