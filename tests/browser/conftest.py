"""Fixtures of the browser test: Debian's Chromium driven by Playwright (never a downloaded
browser), and a folder for screenshots.

Chromium is Debian's /usr/bin/chromium (`.ci/browser-deps` installs it; $GRAPHRT_CHROMIUM
names another build of it). Without it, or without Playwright, the test fails under CI
(env CI set) and is skipped, saying why, elsewhere.
Screenshots go to $GRAPHRT_ARTIFACTS, else tests/browser/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GRAPHRT_CHROMIUM") or "/usr/bin/chromium")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}; CI runs the browser test: run .ci/browser-deps first",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium, closed after the test."""
    if not CHROMIUM.is_file():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (the `test` extra)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (kept after the run)."""
    base = Path(os.environ.get("GRAPHRT_ARTIFACTS") or ROOT / "tests" / "browser" / "artifacts")
    folder = base / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in (*folder.glob("*.png"), *folder.glob("*.json")):
        old.unlink()
    return folder
