"""Persistent, content-addressed disk store with a byte budget.

Layout: <root>/objects/<k[:2]>/<key>.<ext> and an SQLite index (WAL) of key, extension,
size, xxh3_128 checksum and last access. Writes go to a temporary file renamed into place,
then the index row; reads verify the checksum, and a corrupt or missing file is dropped and
reported (`CorruptEntry`), never returned. Beyond the budget, least recently used entries go.
Several processes may share one root.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import xxhash

from ..errors import CorruptEntry
from . import codec

DEFAULT_BUDGET = 20 * 1024**3
_SCHEMA = """CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, ext TEXT NOT NULL, size INTEGER NOT NULL,
    checksum TEXT NOT NULL, created REAL NOT NULL, accessed REAL NOT NULL)"""


class DiskStore:
    """key → value on disk, for values `codec` can serialize."""

    def __init__(self, root: str | Path, max_bytes: int = DEFAULT_BUDGET) -> None:
        self.root = Path(root).expanduser()
        self.max_bytes = max_bytes
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.root / "index.sqlite", timeout=30,
                                   check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self.hits = self.misses = self.corrupt = 0

    def path(self, key: str, ext: str) -> Path:
        return self.root / "objects" / key[:2] / f"{key}.{ext}"

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT ext, checksum FROM entries WHERE key=?",
                                   (key,)).fetchone()
        if row is None:
            self.misses += 1
            return default
        ext, checksum = row
        path = self.path(key, ext)
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._drop(key, ext)
            raise CorruptEntry(key, f"file unreadable: {exc}") from exc
        if xxhash.xxh3_128_hexdigest(data) != checksum:
            self._drop(key, ext)
            raise CorruptEntry(key, "checksum mismatch")
        try:
            value = codec.decode(data, ext)
        except Exception as exc:  # a file that passed its checksum but will not decode
            self._drop(key, ext)
            raise CorruptEntry(key, f"undecodable: {exc}") from exc
        with self._lock:
            self._db.execute("UPDATE entries SET accessed=? WHERE key=?", (time.time(), key))
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        """Store `value`; raises NotSerializable for values that must stay in memory."""
        data, ext = codec.encode(value)
        path = self.path(key, ext)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                (key, ext, len(data), xxhash.xxh3_128_hexdigest(data), now, now))
        self._evict()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM entries WHERE key=?", (key,)).fetchone() \
                is not None

    def stored_keys(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT key FROM entries")]

    def _drop(self, key: str, ext: str) -> None:
        self.corrupt += 1
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE key=?", (key,))
        self.path(key, ext).unlink(missing_ok=True)

    def _evict(self) -> None:
        with self._lock:
            total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
            if total <= self.max_bytes:
                return
            rows = self._db.execute(
                "SELECT key, ext, size FROM entries ORDER BY accessed").fetchall()
            for key, ext, size in rows:
                if total <= self.max_bytes:
                    break
                self._db.execute("DELETE FROM entries WHERE key=?", (key,))
                self.path(key, ext).unlink(missing_ok=True)
                total -= size

    def stats(self) -> dict[str, Any]:
        with self._lock:
            n, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        return {"root": str(self.root), "entries": n, "bytes": size, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses, "corrupt": self.corrupt}

    def clear(self) -> None:
        with self._lock:
            rows = self._db.execute("SELECT key, ext FROM entries").fetchall()
            self._db.execute("DELETE FROM entries")
        for key, ext in rows:
            self.path(key, ext).unlink(missing_ok=True)

    def close(self) -> None:
        self._db.close()
