"""The editor's text replacements in a save node's `filename_prefix`, applied when it queues
a prompt (docs/comfyui-workflows.md): `%date:FORMAT%` becomes the date and time of the
conversion (yyyy, yy, M, MM, d, dd, h, hh, m, mm, s, ss), and `%Node.widget%` the value of
that widget on the node whose "Node name for S&R" (else title) is Node, with the characters
a file name cannot hold replaced by "_". Other patterns are left as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

SAVE_CLASSES = frozenset({"SaveImage"})  # the supported classes the editor does this for
_PATTERN = re.compile(r"%([^%]+)%")
_DATE = re.compile(r"dd?|MM?|hh?|mm?|ss?|yyy?y?")
_UNSAFE = re.compile(r'[/?<>\\:*|"\x00-\x1F\x7F]')


def format_date(fmt: str, now: datetime) -> str:
    """The editor's date format: a letter run is a field, padded to the run's length."""
    fields = {"d": now.day, "M": now.month, "h": now.hour, "m": now.minute, "s": now.second}

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "yy":
            return str(now.year)[2:]
        if token == "yyyy":
            return str(now.year)
        if token[0] in fields:
            return str(fields[token[0]]).rjust(len(token), "0")
        return token

    return _DATE.sub(one, fmt)


def replace_text(value: str, widgets: Mapping[str, Mapping[str, Any]],
                 names: Mapping[str, tuple[str, str]], now: datetime) -> str:
    """`value` with its %…% patterns replaced; `names` maps node id → (S&R name, title) and
    `widgets` node id → widget values."""

    def one(match: re.Match[str]) -> str:
        parts = match.group(1).split(".")
        if len(parts) != 2:
            return format_date(parts[0][5:], now) if parts[0].startswith("date:") else \
                match.group(0)
        node, widget = parts
        found = [i for i, (sr, _) in names.items() if sr == node] or [
            i for i, (_, title) in names.items() if title == node]
        if not found or widget not in widgets.get(found[0], {}):
            return match.group(0)
        return _UNSAFE.sub("_", str(widgets[found[0]][widget]))

    return _PATTERN.sub(one, value)
