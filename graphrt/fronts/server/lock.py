"""One server per state folder: an exclusive lock on `<state>/server.lock`.

Two servers sharing a queue would each re-queue the other's running prompt at start and run
it twice. The lock is an OS advisory lock (flock; msvcrt on Windows) held by an open file,
so it is released when the process ends, however it ends: a killed server never leaves a
stale lock. The file holds the owner's pid, for the error a second server reports.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO


class StateLocked(RuntimeError):
    """Another server holds the state folder."""


class StateLock:
    """The exclusive lock on a state folder; `acquire` is idempotent, `release` too."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "server.lock"
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock, or raise StateLocked naming the folder and the holder's pid."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 - held until release
        try:
            _lock(f)
        except OSError:
            f.seek(0)
            owner = f.read().strip() or "unknown"
            f.close()
            raise StateLocked(f"the state folder {self.path.parent} is in use by another "
                              f"graphrt server (pid {owner}); give this one its own "
                              "--state-dir") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f

    def release(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            f.close()  # closing the file releases the lock


if sys.platform == "win32":
    import msvcrt

    def _lock(f: IO[str]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _lock(f: IO[str]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
