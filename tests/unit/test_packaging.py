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


def test_every_readme_command_is_installed_by_a_plain_install() -> None:
    """`graphrt serve` is a README command: its server must come with `pip install graphrt`."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in deps}
    assert {"starlette", "uvicorn"} <= names
    readme = (ROOT / "README.md").read_text()
    assert "graphrt serve" in readme
