"""The editor's per-user data under the state folder: users, settings and saved files.

    <state>/users/users.json                      user id → name (POST /users)
    <state>/users/default/comfy.settings.json     GET/POST /settings
    <state>/users/default/workflows/my.json       /userdata/workflows%2Fmy.json

Single-user, as ComfyUI without --multi-user: every request reads and writes the "default"
user's folder. A file name is checked part by part (no empty, "." or ".." part, no
backslash, drive colon, control character or NUL, no percent escape left after decoding,
at most 16 parts of 255 bytes) and then confined to the user's folder with
`graphrt.core.paths.confined`, which resolves symlinks: a name that would leave the folder
raises UnsafePath. Writes are atomic (a temporary file in the same folder, then a rename)
and bounded per file, per user and in number of files (`Limits`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from graphrt.core.paths import UnsafePath, confined
from graphrt.fronts.server.config import Limits

DEFAULT_USER = "default"
SETTINGS_FILE = "comfy.settings.json"
FOLDERS = ("workflows", "subgraphs")  # made at start, so a fresh editor lists, not 404s
SEEDS = {"user.css": b"", "comfy.templates.json": b"[]"}  # files the editor always reads
PART_RE = re.compile(r'^[^\x00-\x1f\x7f\\/:*?"<>|]+$')
ESCAPE_RE = re.compile(r"%[0-9A-Fa-f]{2}")
MAX_DEPTH = 16
MAX_NAME = 1024


class TooLarge(Exception):
    """A write over a size or count limit (413)."""


class Exists(Exception):
    """The target exists and overwriting was not asked for (409)."""


def check_name(name: str) -> list[str]:
    """The parts of a user file name; raises UnsafePath naming what is wrong."""
    if not name or len(name) > MAX_NAME:
        raise UnsafePath(f"a file name must have 1 to {MAX_NAME} characters")
    if ESCAPE_RE.search(name):
        raise UnsafePath(f"{name[:80]!r} still holds a percent escape once decoded")
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        raise UnsafePath(f"{name[:80]!r} is more than {MAX_DEPTH} folders deep")
    for part in parts:
        if part in ("", ".", "..") or not PART_RE.match(part) or len(part.encode()) > 255:
            raise UnsafePath(f"{name[:80]!r} is not a file name inside the user's folder "
                             "(no empty, '.' or '..' part, no \\ : * ? \" < > | or control "
                             "characters, parts of at most 255 bytes)")
    return parts


def file_info(path: Path, base: Path) -> dict[str, Any]:
    """ComfyUI's FileInfo: path (relative to `base`, '/'-separated), size, times in ms."""
    st = path.stat()
    return {"path": path.relative_to(base).as_posix(), "size": st.st_size,
            "modified": int(st.st_mtime * 1000), "created": int(st.st_ctime * 1000)}


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".userdata-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class UserStore:
    """The users, settings and files of the editor, in `root` (<state>/users)."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root, self.limits = root, limits
        self._lock = threading.Lock()  # settings and quota: read-modify-write
        for sub in FOLDERS:
            (self.folder() / sub).mkdir(parents=True, exist_ok=True)
        for name, data in SEEDS.items():
            if not (self.folder() / name).exists():
                _atomic_write(self.folder() / name, data)

    def folder(self, user: str = DEFAULT_USER) -> Path:
        return self.root / user

    # users ------------------------------------------------------------------------------

    def users(self) -> dict[str, str]:
        try:
            data = json.loads((self.root / "users.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return {DEFAULT_USER: DEFAULT_USER, **(data if isinstance(data, dict) else {})}

    def add_user(self, name: str) -> str:
        """A new user's id ("<name>_<uuid>"); ValueError for an empty, duplicate or extra one."""
        name = name.strip()
        if not name or len(name) > 128:
            raise ValueError("username not provided (1 to 128 characters)")
        with self._lock:
            users = self.users()
            if name in users.values():
                raise ValueError("Duplicate username.")
            if len(users) > self.limits.max_users:
                raise ValueError(f"this server keeps at most {self.limits.max_users} users")
            user_id = f"{re.sub(r'[^a-zA-Z0-9_-]+', '-', name)}_{uuid.uuid4()}"
            users[user_id] = name
            users.pop(DEFAULT_USER)
            _atomic_write(self.root / "users.json", json.dumps(users).encode())
        return user_id

    # settings ---------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        try:
            data = json.loads((self.folder() / SETTINGS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def update_settings(self, values: dict[str, Any]) -> None:
        """Merge `values` into the settings; TooLarge past `max_settings_bytes`."""
        with self._lock:
            text = json.dumps({**self.settings(), **values}, indent=1)
            if len(text) > self.limits.max_settings_bytes:
                raise TooLarge(f"the settings would be {len(text)} bytes, over this "
                               f"server's limit of {self.limits.max_settings_bytes}")
            _atomic_write(self.folder() / SETTINGS_FILE, text.encode())

    # files ------------------------------------------------------------------------------

    def resolve(self, name: str) -> Path:
        """The file `name` names in the user's folder; raises UnsafePath."""
        check_name(name)
        return confined(self.folder(), name)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.folder().resolve()).as_posix()

    def info(self, path: Path) -> dict[str, Any]:
        return file_info(path, self.folder().resolve())

    def listing(self, directory: str, *, recurse: bool) -> tuple[Path, list[Path]]:
        """(the folder, its files): not hidden ones, nor links that lead out; bounded."""
        base = self.resolve(directory)
        if not base.is_dir():
            raise FileNotFoundError(directory)
        root = self.folder().resolve()
        found: list[Path] = []
        for here, dirs, files in os.walk(base, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recurse else []
            for name in sorted(f for f in files if not f.startswith(".")):
                path = Path(here, name)
                real = path.resolve()
                if real.is_file() and root in real.parents:
                    found.append(path)
                    if len(found) >= self.limits.max_userdata_files:
                        return base, found
        return base, found

    def _usage(self) -> tuple[int, int]:
        """(bytes, files) in the user's folder."""
        size = count = 0
        for here, _dirs, files in os.walk(self.folder(), followlinks=False):
            for name in files:
                try:
                    size += os.lstat(os.path.join(here, name)).st_size
                except OSError:
                    continue
                count += 1
        return size, count

    def _admit(self, target: Path, size: int) -> None:
        """TooLarge when writing `size` bytes to `target` passes a limit (lock held)."""
        limits = self.limits
        if size > limits.max_userdata_file_bytes:
            raise TooLarge(f"the file is {size} bytes, over this server's limit of "
                           f"{limits.max_userdata_file_bytes}")
        used, count = self._usage()
        old = target.stat().st_size if target.is_file() else 0
        if used - old + size > limits.max_userdata_bytes:
            raise TooLarge(f"the user's files would take {used - old + size} bytes, over "
                           f"this server's limit of {limits.max_userdata_bytes}")
        if not target.exists() and count >= limits.max_userdata_files:
            raise TooLarge(f"the user already has {count} files, this server's limit")

    def write(self, name: str, data: bytes, *, overwrite: bool) -> Path:
        """Write a file atomically; Exists when it exists and not `overwrite`."""
        path = self.resolve(name)
        with self._lock:
            if path.exists() and not overwrite:
                raise Exists(name)
            if path.is_dir():
                raise IsADirectoryError(name)
            self._admit(path, len(data))
            _atomic_write(path, data)
        return path

    def delete(self, name: str) -> None:
        path = self.resolve(name)
        if not path.is_file():
            raise FileNotFoundError(name)
        path.unlink()

    def move(self, source: str, dest: str, *, overwrite: bool) -> Path:
        """Rename a file within the user's folder; Exists unless `overwrite`."""
        src, dst = self.resolve(source), self.resolve(dest)
        with self._lock:
            if not src.is_file():
                raise FileNotFoundError(source)
            if dst.exists() and not overwrite:
                raise Exists(dest)
            if dst.is_dir():
                raise IsADirectoryError(dest)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        return dst
