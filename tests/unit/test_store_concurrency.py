"""The disk tier under concurrent writers: several processes write, read and evict the same
keys of one root at once (the shared tier of graphrt.distributed). Every read returns a whole
value some writer wrote, or a miss; never a corrupt entry, never a torn file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from graphrt.core.store import DiskStore
from graphrt.core.store.disk import seal, unseal

ROOT = Path(__file__).resolve().parents[2]
WRITERS, ROUNDS, KEYS = 4, 150, 6

SCRIPT = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {root!r})
    from graphrt.core.errors import CorruptEntry
    from graphrt.core.store import DiskStore
    store = DiskStore(sys.argv[1], max_bytes=int(sys.argv[2]))
    me = int(sys.argv[3])
    seen = {{"hits": 0, "misses": 0, "corrupt": 0, "torn": 0, "foreign": 0}}
    for i in range({rounds}):
        key = f"{{i % {keys}:032x}}"
        # each writer writes its own bytes under the shared key: a writer that raced another
        # and lost must still leave a whole file, and readers must get one writer's value
        store.put(key, {{"out": bytes([me]) * (3000 + 500 * me), "me": me}})
        try:
            value = store.get(f"{{(i + me) % {keys}:032x}}", None)
        except CorruptEntry:
            seen["corrupt"] += 1
            continue
        if value is None:
            seen["misses"] += 1
            continue
        seen["hits"] += 1
        who, out = value["me"], value["out"]
        if out != bytes([who]) * (3000 + 500 * who):
            seen["torn"] += 1
        if who != me:
            seen["foreign"] += 1
    print(json.dumps(seen))
""")


def test_concurrent_writers_never_corrupt_an_entry(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(SCRIPT.format(root=str(ROOT), rounds=ROUNDS, keys=KEYS))
    cache = tmp_path / "cache"
    budget = 4 * 5000  # fewer bytes than the keys need: writers evict each other's entries
    procs = [subprocess.Popen([sys.executable, str(script), str(cache), str(budget), str(w)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(1, WRITERS + 1)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out))
    assert sum(r["corrupt"] for r in results) == 0
    assert sum(r["torn"] for r in results) == 0
    assert sum(r["hits"] for r in results) > 0
    assert sum(r["foreign"] for r in results) > 0  # the processes did read each other's writes
    store = DiskStore(cache, max_bytes=budget)
    assert store.stats()["bytes"] <= budget and list((cache / "tmp").iterdir()) == []
    for key in store.stored_keys():  # what is left is whole
        value = store.get(key)
        assert value["out"] == bytes([value["me"]]) * (3000 + 500 * value["me"])


def test_a_sealed_file_is_checked_by_itself() -> None:
    data = seal(b"payload")
    assert unseal(data) == b"payload"
    assert unseal(data[:-1] + b"X") is None  # a changed byte
    assert unseal(data[:10]) is None  # a torn file
    assert unseal(b"payload") is None  # a file of the old layout, without a seal


def test_an_older_layout_is_forgotten_once(tmp_path: Path) -> None:
    import sqlite3

    store = DiskStore(tmp_path)
    store.put("a" * 32, {"out": b"x"})
    store.close()
    path = store.path("a" * 32, "msgpack")
    path.write_bytes(unseal(path.read_bytes()) or b"")  # as the previous layout wrote it
    db = sqlite3.connect(tmp_path / "index.sqlite")
    db.execute("PRAGMA user_version=1")
    db.close()
    fresh = DiskStore(tmp_path)
    assert "a" * 32 not in fresh and not path.exists()
    fresh.put("a" * 32, {"out": b"y"})
    assert DiskStore(tmp_path).get("a" * 32) == {"out": b"y"}


def test_a_file_evicted_by_another_process_is_a_miss(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    store.put("b" * 32, {"out": b"x"})
    store.path("b" * 32, "msgpack").unlink()  # another process's eviction, row not yet gone
    assert store.get("b" * 32, "missing") == "missing"
    assert store.stats()["corrupt"] == 0 and "b" * 32 not in store
