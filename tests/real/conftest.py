"""Session fixtures: tiny real-layout SD 1.5 / SDXL base / SDXL refiner files (never committed).

`tiny_models` builds the three tiny models (seeded, every tensor random), converts them back to
the original single-file layouts and writes them to <tmp>/models/checkpoints, next to a tiny
ESRGAN in <tmp>/models/upscale_models. Takes a few seconds.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SEEDS = {"sd1": 1, "sdxl": 2, "sdxl_refiner": 3}


@dataclass
class TinyModels:
    models_dir: Path
    tiny: dict  # family → tests.real.tiny.Tiny

    def path(self, family: str) -> Path:
        from tests.real.tiny import FILES

        return self.models_dir / "checkpoints" / FILES[family]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    from safetensors.torch import save_file

    from tests.real.tiny import FILES, build_tiny

    root = tmp_path_factory.mktemp("real") / "models"
    (root / "checkpoints").mkdir(parents=True)
    tiny = {}
    for family, seed in SEEDS.items():
        tiny[family] = build_tiny(family, seed)
        save_file(tiny[family].original, root / "checkpoints" / FILES[family])
    from tests.ops.samples import write_tiny_esrgan

    write_tiny_esrgan(root / "upscale_models", "tiny_esrgan")
    return TinyModels(root, tiny)


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Fail any socket connection attempt made during the test; yields the attempts."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object, *args: object) -> None:
        attempts.append(address)
        raise OSError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection",
                        lambda address, *a, **k: refuse(None, address))  # type: ignore[arg-type]
    yield attempts
