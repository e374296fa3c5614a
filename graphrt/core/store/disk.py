"""Persistent, content-addressed disk store with a byte budget, shared by processes.

Layout: <root>/objects/<k[:2]>/<key>.<ext>, <root>/tmp/ (writes in progress) and an SQLite
index (WAL) of key, extension, size, xxh3_128 checksum and last access. Keys are content
addresses (the hash of what a node computes), so every writer of a key writes the same
result. Each file carries its own checksum (`seal`): a header, the xxh3_128 of the payload,
the payload. A write goes to a file in tmp/ (named for its host, process and a random
token) renamed into place, then the index row; a read trusts nothing but the file, so
writers that race on one key, or a reader that races a writer, never produce a file whose
checksum belongs to another: the rename is atomic and each file is whole or absent. A
corrupt file is dropped and reported (`CorruptEntry`), never returned; a file another
process evicted is a miss. Beyond the budget, least recently used entries go (one process
at a time: eviction runs in a write transaction). Several processes may share one root.

Faults of the store itself (an index that is not a database, a full or read-only disk, a
root that cannot be made) raise `DiskFault`, never a bare OSError or sqlite3.Error. The
index opens on first use, so making a store never fails. A failed write leaves no file
behind; opening removes the temporary files a killed writer left (untouched for
`STALE_TMP_S`: a live writer keeps its file fresh, and renames it within one call).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xxhash

from ..errors import CorruptEntry, DiskFault
from . import codec

DEFAULT_BUDGET = 20 * 1024**3
STALE_TMP_S = 600.0
INDEX = "index.sqlite"
LAYOUT = 2  # the index's user_version: 2 = files sealed with their checksum
MAGIC = b"graphrt\x02"
_HEADER = len(MAGIC) + 16
_SCHEMA = """CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, ext TEXT NOT NULL, size INTEGER NOT NULL,
    checksum TEXT NOT NULL, created REAL NOT NULL, accessed REAL NOT NULL)"""


def seal(payload: bytes) -> bytes:
    """A file's bytes: MAGIC, the payload's xxh3_128 digest, the payload."""
    return MAGIC + xxhash.xxh3_128_digest(payload) + payload


def unseal(data: bytes) -> bytes | None:
    """The payload of a sealed file, or None when its header or checksum is wrong."""
    if len(data) < _HEADER or not data.startswith(MAGIC):
        return None
    payload = data[_HEADER:]
    if xxhash.xxh3_128_digest(payload) != data[len(MAGIC):_HEADER]:
        return None
    return payload


def write_file(path: Path, data: bytes) -> None:
    """Write `data` to a new file (one function, so tests can inject a full disk here)."""
    with open(path, "wb") as f:
        f.write(data)


_HOST = socket.gethostname()  # with the process and a random token: a unique tmp name


class DiskStore:
    """key → value on disk, for values `codec` can serialize."""

    def __init__(self, root: str | Path, max_bytes: int = DEFAULT_BUDGET) -> None:
        self.root = Path(root).expanduser()
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.hits = self.misses = self.corrupt = 0

    def path(self, key: str, ext: str) -> Path:
        return self.root / "objects" / key[:2] / f"{key}.{ext}"

    def _fault(self, what: str, exc: BaseException) -> DiskFault:
        return DiskFault(f"disk cache {self.root}: cannot {what}: {exc}")

    @contextlib.contextmanager
    def _faults(self, what: str) -> Iterator[None]:
        try:
            yield
        except (OSError, sqlite3.Error) as exc:
            raise self._fault(what, exc) from exc

    @contextlib.contextmanager
    def _index(self, what: str) -> Iterator[sqlite3.Connection]:
        """The index (opened on first use), under the store's lock; faults → DiskFault."""
        with self._lock, self._faults(what):
            if self._db is None:
                self._db = self._open()
            yield self._db

    def _sql(self, what: str, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """One statement's rows: `_index` without a context manager, for the hot paths."""
        try:
            with self._lock:
                if self._db is None:
                    self._db = self._open()
                return self._db.execute(sql, args).fetchall()
        except (OSError, sqlite3.Error) as exc:
            raise self._fault(what, exc) from exc

    def _open(self) -> sqlite3.Connection:
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        self._sweep()
        db = sqlite3.connect(self.root / INDEX, timeout=30, check_same_thread=False,
                             isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            if db.execute("PRAGMA user_version").fetchone()[0] < LAYOUT:
                self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Forget the entries of an older layout (files without a seal): it is a cache."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < LAYOUT:
                rows = db.execute("SELECT key, ext FROM entries").fetchall()
                db.execute("DELETE FROM entries")
                db.execute(f"PRAGMA user_version={LAYOUT}")
                for key, ext in rows:
                    self.path(key, ext).unlink(missing_ok=True)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _sweep(self) -> None:
        """Remove temporary files that no live writer holds (left by a killed process)."""
        cutoff = time.time() - STALE_TMP_S
        for tmp in (self.root / "tmp").iterdir():
            with contextlib.suppress(OSError):  # another process may sweep it first
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._sql("read the index", "SELECT ext FROM entries WHERE key=?",
                         (key,))
        if not rows:
            self.misses += 1
            return default
        ext = rows[0][0]
        path = self.path(key, ext)
        try:
            data = unseal(path.read_bytes())
        except FileNotFoundError:  # evicted by another process since the row was read
            self._forget(key, ext)
            self.misses += 1
            return default
        except OSError as exc:
            self._drop(key, ext)
            raise CorruptEntry(key, f"file unreadable: {exc}") from exc
        if data is None:
            self._drop(key, ext)
            raise CorruptEntry(key, "checksum mismatch")
        try:
            value = codec.decode(data, ext)
        except Exception as exc:  # a file that passed its checksum but will not decode
            self._drop(key, ext)
            raise CorruptEntry(key, f"undecodable: {exc}") from exc
        self._sql("update the index", "UPDATE entries SET accessed=? WHERE key=?",
                  (time.time(), key))
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        """Store `value`; raises NotSerializable for values that must stay in memory, and
        DiskFault (leaving no partial file) when the disk refuses the write."""
        data, ext = codec.encode(value)
        if self._db is None:
            self._sql("open the index", "SELECT 1")  # the folders exist from here on
        path = self.path(key, ext)
        tmp = self.root / "tmp" / f"{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(6)}"
        with self._faults("write an entry"):
            try:
                path.parent.mkdir(exist_ok=True)
                write_file(tmp, seal(data))
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
                raise
        now = time.time()
        try:
            self._sql("index an entry", "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                      (key, ext, len(data), xxhash.xxh3_128_hexdigest(data), now, now))
        except DiskFault:
            with contextlib.suppress(OSError):  # no file without its index row
                path.unlink(missing_ok=True)
            raise
        self._evict()

    def __contains__(self, key: object) -> bool:
        return bool(self._sql("read the index", "SELECT 1 FROM entries WHERE key=?", (key,)))

    def stored_keys(self) -> list[str]:
        with self._index("read the index") as db:
            return [r[0] for r in db.execute("SELECT key FROM entries")]

    def _drop(self, key: str, ext: str) -> None:
        self.corrupt += 1
        with self._index("update the index") as db:
            db.execute("DELETE FROM entries WHERE key=?", (key,))
            self.path(key, ext).unlink(missing_ok=True)

    def _forget(self, key: str, ext: str) -> None:
        """Drop the row of an entry whose file is gone (no file is removed: none is there)."""
        self._sql("update the index", "DELETE FROM entries WHERE key=? AND ext=?", (key, ext))

    def _evict(self) -> None:
        with self._index("evict entries") as db:
            total = db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
            if total <= self.max_bytes:
                return
            db.execute("BEGIN IMMEDIATE")  # one evictor at a time across processes
            try:
                total = db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
                rows = db.execute("SELECT key, ext, size FROM entries ORDER BY accessed"
                                  ).fetchall()
                for key, ext, size in rows:
                    if total <= self.max_bytes:
                        break
                    db.execute("DELETE FROM entries WHERE key=?", (key,))
                    self.path(key, ext).unlink(missing_ok=True)
                    total -= size
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def stats(self) -> dict[str, Any]:
        with self._index("read the index") as db:
            n, size = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        return {"root": str(self.root), "entries": n, "bytes": size, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses, "corrupt": self.corrupt}

    def clear(self) -> None:
        """Remove every entry. An index that is not a database is replaced by a new one."""
        try:
            with self._index("clear the index") as db:
                rows = db.execute("SELECT key, ext FROM entries").fetchall()
                db.execute("DELETE FROM entries")
        except DiskFault as fault:
            if type(fault.__cause__) is not sqlite3.DatabaseError:  # not a database
                raise
            self._reset()
            return
        with self._faults("remove entries"):
            for key, ext in rows:
                self.path(key, ext).unlink(missing_ok=True)

    def _reset(self) -> None:
        with self._lock, self._faults("reset the index"):
            self.close()
            for name in (INDEX, f"{INDEX}-wal", f"{INDEX}-shm"):
                (self.root / name).unlink(missing_ok=True)
            shutil.rmtree(self.root / "objects", ignore_errors=True)
            self._db = self._open()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
