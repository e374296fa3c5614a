"""The installed graphrt's metadata requires what `graphrt serve` needs, with no extra: a plain
`pip install graphrt` gives the server and the editor it serves at / (issue 13).
`.ci/fresh-install` checks the same from an empty virtual environment."""

from __future__ import annotations

import re
from importlib.metadata import requires, version

SERVER = {"starlette", "uvicorn", "comfyui-frontend-package"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_the_server_and_the_editor_are_required_unconditionally() -> None:
    listed = requires("graphrt") or []
    plain = {_name(r) for r in listed if ";" not in r}
    assert plain >= SERVER, f"missing from a plain install: {SERVER - plain}"
    conditional = {_name(r) for r in listed if ";" in r}
    assert not SERVER & conditional


def test_the_installed_editor_is_in_the_pinned_range() -> None:
    spec = next(r for r in requires("graphrt") or []
                if _name(r) == "comfyui-frontend-package")
    installed = tuple(int(x) for x in version("comfyui-frontend-package").split(".")[:2])
    low = re.search(r">=\s*(\d+)\.(\d+)", spec)
    high = re.search(r"<\s*(\d+)\.(\d+)", spec)
    assert low and high, f"not pinned to a tested range: {spec}"
    assert (int(low[1]), int(low[2])) <= installed < (int(high[1]), int(high[2])), spec
