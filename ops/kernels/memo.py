"""A small memo of pure tensor functions keyed by their tensor arguments' identity.

Values flowing through a graph are never mutated (cached values are shared), so a result
computed from a tensor can be reused while that very tensor is alive and unchanged: the key
holds the tensor (its id stays its own) and its `_version` (bumped by every in-place write, so
a tensor changed in place misses). For work repeated with the same inputs across the steps of
one node or the nodes of one run: resizing a mask to a latent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import torch

T = TypeVar("T")


class IdentityMemo:
    """An LRU of `size` results; `get(tensor, extra, make)` returns make()'s value for this
    tensor object in its current version and the hashable `extra`."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, tuple[torch.Tensor, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tensor: torch.Tensor, extra: Hashable, make: Callable[[], T]) -> T:
        try:
            key = (id(tensor), tensor._version, extra)
        except RuntimeError:  # an inference tensor keeps no version: not memoized
            return make()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] is tensor:
                self._data.move_to_end(key)
                value: T = hit[1]
                return value
        value = make()
        with self._lock:
            self._data[key] = (tensor, value)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value
