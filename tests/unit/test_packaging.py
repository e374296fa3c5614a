"""pyproject.toml lists every package folder (ops/ ships as graphrt.ops)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOTS = {"graphrt": "graphrt", "ops": "graphrt.ops", "graphs": "graphrt.graphs"}


def test_every_package_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for folder, name in ROOTS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert found == listed


def test_modules_stay_small() -> None:
    long = [str(p.relative_to(ROOT)) for folder in ("graphrt", "ops")
            for p in (ROOT / folder).rglob("*.py") if len(p.read_text().splitlines()) > 400]
    assert long == []
