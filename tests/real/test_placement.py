"""Placement.use(): `Module.to` only when something may have moved (ops/models/real/devices.py).

A UNet call used to walk every tensor of the module through `Module.to` even when nothing
moved (about 3 ms per call on the tiny SD 1.5 UNet); now a placement whose module is in place,
with no move by any offloader since, returns at once.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from graphrt.ops.models.real.devices import Offloader, Placement


class Counted(torch.nn.Linear):
    """A module counting its `to` calls."""

    def __init__(self) -> None:
        super().__init__(2, 2)
        self.moved = 0

    def to(self, *args: Any, **kwargs: Any) -> Any:
        self.moved += 1
        return super().to(*args, **kwargs)


def test_use_moves_once_while_nothing_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Offloader, "off_cpu", False)
    a, b, off = Counted(), Counted(), Offloader()
    pa = Placement(a, torch.device("cpu"), torch.float32, off)
    for _ in range(5):
        assert pa.use() == (torch.device("cpu"), torch.float32)
    Placement(b, torch.device("cpu"), torch.float32, Offloader()).use()
    pa.use()  # only ever on the CPU: b's placement moved nothing
    assert a.moved == 1 and b.moved == 1


def test_use_moves_again_after_any_move_or_a_new_device(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(Offloader, "off_cpu", True)  # as after a module went to a GPU
    a, b, off = Counted(), Counted(), Offloader()
    pa = Placement(a, torch.device("cpu"), torch.float32, off)
    pb = Placement(b, torch.device("cpu"), torch.float32, Offloader())  # another offloader
    pa.use()
    pb.use()  # a move elsewhere (a shared parameter may have moved with it)
    pa.use()
    pa.use()
    assert a.moved == 2
    off.release(b)
    pa.use()
    assert a.moved == 3
    pa.move("meta")  # another device: placed there on next use, once
    pa.use()
    pa.use()
    assert a.moved == 4 and a.weight.device.type == "meta"
    assert id(a) in off.resident  # an accelerator-like device: tracked for offloading
