"""Shared fixtures: isolated folders and cache for every test."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's folders or cache."""
    for var, sub in (("GRAPHRT_CACHE_DIR", "cache"), ("GRAPHRT_OUTPUT_DIR", "output"),
                     ("GRAPHRT_INPUT_DIR", "input"), ("GRAPHRT_MODELS_DIR", "models")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("GRAPHRT_DEVICE", os.environ.get("GRAPHRT_TEST_DEVICE", "cpu"))


@pytest.fixture
def plans_made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the plans made (calls of graphrt.core.pipeline.make_plan) while a test runs."""
    import graphrt.core.pipeline as pipeline

    made: list[int] = []
    real = pipeline.make_plan

    def counting(*args: object, **kwargs: object) -> object:
        made.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "make_plan", counting)
    return made
