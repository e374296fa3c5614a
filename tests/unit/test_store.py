import errno
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from graphrt import Runtime
from graphrt.core import events as ev
from graphrt.core.errors import CorruptEntry, DiskFault, NotSerializable
from graphrt.core.store import DiskStore, MemoryStore, codec
from graphrt.core.store import disk as disk_module
from tests.fakeops import FAKE_OPS

ROOT = Path(__file__).resolve().parents[2]


def test_memory_lru_by_bytes() -> None:
    store = MemoryStore(max_bytes=3 * 4000)
    for i in range(3):
        store.put(f"k{i}", torch.zeros(1000))  # 4000 bytes each
    store.get("k0")  # k0 becomes most recent
    store.put("k3", torch.zeros(1000))
    assert "k1" not in store and all(k in store for k in ("k0", "k2", "k3"))
    store.put("huge", torch.zeros(10_000))
    assert "huge" not in store and store.stats()["bytes"] <= store.max_bytes


def test_codec_round_trip() -> None:
    value = {"out": {"samples": torch.arange(6.0).reshape(2, 3), "batch_index": [0, 2],
                     "meta": ("a", 1, 2.5, None, b"x"), "half": torch.ones(2, dtype=torch.float16)}}
    data, ext = codec.encode(value)
    assert ext == "safetensors"
    back = codec.decode(data, ext)
    assert torch.equal(back["out"]["samples"], value["out"]["samples"])
    assert back["out"]["half"].dtype == torch.float16
    assert back["out"]["meta"] == ("a", 1, 2.5, None, b"x")
    assert codec.decode(*codec.encode({"x": [1, "two"]})) == {"x": [1, "two"]}
    with pytest.raises(NotSerializable):
        codec.encode({"model": object()})


def test_disk_store_checksums_and_budget(tmp_path: Path) -> None:
    store = DiskStore(tmp_path, max_bytes=10_000)
    store.put("a" * 32, {"out": torch.ones(100)})
    assert torch.equal(store.get("a" * 32)["out"], torch.ones(100))
    path = store.path("a" * 32, "safetensors")
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptEntry, match="checksum"):
        store.get("a" * 32)
    assert "a" * 32 not in store  # dropped, never returned
    for i in range(10):
        store.put(f"{i:032d}", {"out": torch.zeros(500)})  # ~2 KB each
    assert store.stats()["bytes"] <= 10_000
    assert f"{9:032d}" in store and f"{0:032d}" not in store


SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {root!r})
    from graphrt import Runtime, Registry
    from tests.fakeops import FAKE_OPS
    events = []
    rt = Runtime(registry=Registry(FAKE_OPS), cache_dir=sys.argv[1])
    doc = {{"nodes": {{"t": {{"op": "test.tensor", "params": {{"size": 8, "seed": 3}}}},
                      "u": {{"op": "test.tensor", "params": {{"size": 4, "seed": 4}}}},
                      "s": {{"op": "test.text", "params": {{"text": "ab", "times": 2}}}}}},
           "outputs": {{"t": "t.out", "u": "u.out", "s": "s.out"}}}}
    r = rt.run(doc, on_event=lambda e: events.append(e.to_dict()))
    print(json.dumps({{"executed": r.executed, "sum": float(r.outputs["t"]["samples"].sum()),
                      "s": r.outputs["s"], "events": [e["event"] for e in events],
                      "corrupt": [e["node"] for e in events if e["event"] == "cache_corrupt"]}}))
""")


def test_two_processes_share_the_disk_cache_and_corruption_recomputes(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    cache = tmp_path / "cache"

    def run() -> dict:
        proc = subprocess.run([sys.executable, str(script), str(cache)], capture_output=True,
                              text=True, timeout=120, check=True)
        return json.loads(proc.stdout)

    first = run()
    assert sorted(first["executed"]) == ["s", "t", "u"]
    second = run()
    assert second["executed"] == [] and second["sum"] == first["sum"] and second["s"] == "abab"
    store = DiskStore(cache)
    victim = next(k for k in store.stored_keys() if store.path(k, "safetensors").exists()
                  and store.get(k)["out"]["samples"].shape[-1] == 8)
    path = store.path(victim, "safetensors")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    third = run()
    assert third["executed"] == ["t"] and third["corrupt"] == ["t"]
    assert third["sum"] == first["sum"]
    assert "cache_corrupt" in third["events"]


def test_unserializable_values_stay_in_memory(tmp_path: Path) -> None:
    from graphrt.core.store import TieredStore

    tiered = TieredStore(MemoryStore(), DiskStore(tmp_path))
    tiered.put("k" * 32, {"out": object()})
    assert "k" * 32 in tiered.memory and "k" * 32 not in tiered.disk


def test_corrupt_entry_event_in_process(tmp_path: Path) -> None:
    from tests.fakeops import FAKE_OPS

    doc = {"nodes": {"t": {"op": "test.tensor"}}, "outputs": {"t": "t.out"}}
    rt = Runtime(registry=FAKE_OPS, cache_dir=tmp_path)
    first = rt.run(doc)
    rt2 = Runtime(registry=FAKE_OPS, cache_dir=tmp_path)  # a fresh memory tier
    key = rt2.plan(doc).plan.keys["t"]
    rt2.store.disk.path(key, "safetensors").write_bytes(b"garbage")
    seen: list[ev.Event] = []
    again = rt2.run(doc, on_event=seen.append)
    assert any(isinstance(e, ev.CacheCorrupt) and e.node == "t" for e in seen)
    assert again.executed == ["t"]
    assert torch.equal(again.outputs["t"]["samples"], first.outputs["t"]["samples"])


# --- disk faults degrade the cache to memory (issue 14, breaks 5 and 11) ---------------------

DOC = {"nodes": {"t": {"op": "test.tensor", "params": {"size": 8, "seed": 3}},
                 "s": {"op": "test.text", "params": {"text": "ab", "times": 2}}},
       "outputs": {"t": "t.out", "s": "s.out"}}


def _garbage_index(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root.mkdir(parents=True)
    (root / "index.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    return root


def _full_disk(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def write_half_then_fail(path: Path, data: bytes) -> None:
        path.write_bytes(data[: len(data) // 2])  # what a full disk leaves: a partial file
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(disk_module, "write_file", write_half_then_fail)
    return root


def _full_index(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    real_open = DiskStore._open

    class FullIndex:  # an index whose inserts fail as SQLite's do on a full disk
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: Any) -> Any:
            if sql.startswith("INSERT"):
                raise sqlite3.OperationalError("database or disk is full")
            return self.db.execute(sql, *args)

        def close(self) -> None:
            self.db.close()

    monkeypatch.setattr(DiskStore, "_open", lambda self: FullIndex(real_open(self)))
    return root


def _read_only_folder(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self == root or root in self.parents:  # tests run as root: chmod would not stop it
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    return root


def _read_only_index(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def connect(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(disk_module.sqlite3, "connect", connect)
    return root


def _under_a_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root.write_text("a file where the cache folder should be")
    return root / "cache"


FAULTS = {"garbage index": (_garbage_index, "not a database"),
          "full disk": (_full_disk, "No space left"),
          "full index": (_full_index, "disk is full"),
          "read-only folder": (_read_only_folder, "Read-only file system"),
          "read-only index": (_read_only_index, "readonly database"),
          "cache folder under a file": (_under_a_file, "Not a directory")}


@pytest.mark.parametrize("fault", FAULTS)
def test_disk_faults_degrade_to_memory(fault: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    make, detail = FAULTS[fault]
    expected = Runtime(registry=FAKE_OPS).run(DOC).outputs["t"]["samples"]
    root = make(tmp_path / "cache", monkeypatch)
    rt = Runtime(registry=FAKE_OPS, cache_dir=root)  # never fails: the index opens on use
    told: list[str] = []
    rt.store.watch(told.append)
    first = rt.run(DOC)
    assert first.ok and sorted(first.executed) == ["s", "t"]
    assert torch.equal(first.outputs["t"]["samples"], expected) and first.outputs["s"] == "abab"
    assert detail in (rt.store.degraded or "") and len(told) == 1 and detail in told[0]
    assert rt.store.stats()["degraded"] == rt.store.degraded
    again = rt.run(DOC)  # the memory tier still serves
    assert again.ok and again.executed == [] and sorted(again.cached) == ["s", "t"]
    assert len(told) == 1  # told once, not per operation
    tmp = root / "tmp"
    assert not tmp.is_dir() or list(tmp.iterdir()) == []  # no partial file left behind


@pytest.mark.parametrize("fault", ["garbage index", "full disk"])
def test_a_degraded_cache_is_one_warning_event_per_run(fault: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    make, detail = FAULTS[fault]
    rt = Runtime(registry=FAKE_OPS, cache_dir=make(tmp_path / "cache", monkeypatch))
    for _ in range(2):  # the fault is found in the first run; the second is warned too
        seen: list[ev.Event] = []
        result = rt.run(DOC, on_event=seen.append)
        warnings = [e for e in seen if isinstance(e, ev.CacheDegraded)]
        assert result.ok and len(warnings) == 1 and detail in warnings[0].detail
        assert warnings[0].run_id == result.run_id
        assert warnings[0].to_dict()["event"] == "cache_degraded"


def test_a_healthy_cache_is_not_degraded(tmp_path: Path) -> None:
    rt = Runtime(registry=FAKE_OPS, cache_dir=tmp_path)
    told: list[str] = []
    rt.store.watch(told.append)
    assert rt.run(DOC).ok and rt.store.degraded is None and told == []
    assert "degraded" not in rt.store.stats() and rt.store.stats()["disk"]["entries"] == 2


def test_the_disk_tier_is_tried_again_after_retry_s(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from graphrt.core.store import TieredStore

    _full_disk(tmp_path, monkeypatch)
    tiered = TieredStore(MemoryStore(), DiskStore(tmp_path))
    tiered.put("a" * 32, {"out": torch.ones(3)})
    assert tiered.degraded is not None and "a" * 32 in tiered.memory
    monkeypatch.undo()  # the disk has room again
    tiered.put("b" * 32, {"out": torch.ones(3)})
    assert "b" * 32 not in tiered.disk  # still off: not retried before retry_s
    tiered.retry_s = 0.0
    tiered._retry_at = 0.0
    tiered.put("c" * 32, {"out": torch.ones(3)})
    assert tiered.degraded is None and "c" * 32 in tiered.disk


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _full_disk(tmp_path, monkeypatch)
    store = DiskStore(tmp_path)
    with pytest.raises(DiskFault, match="No space left"):
        store.put("a" * 32, {"out": torch.ones(1000)})
    assert "a" * 32 not in store
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()
                  and not p.name.startswith("index.sqlite")) == []


def test_stale_temporary_files_are_removed_when_a_store_opens(tmp_path: Path) -> None:
    DiskStore(tmp_path).stats()  # makes the layout
    stale, fresh = tmp_path / "tmp" / "ab.safetensors.1.1", tmp_path / "tmp" / "cd.msgpack.2.2"
    stale.write_bytes(b"partial")  # left by a writer killed mid-write
    fresh.write_bytes(b"partial")  # a live writer's, in another process
    old = time.time() - disk_module.STALE_TMP_S - 60
    os.utime(stale, (old, old))
    DiskStore(tmp_path).stats()
    assert not stale.exists() and fresh.exists()


def test_cache_clear_resets_a_garbage_index(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    store.put("a" * 32, {"out": torch.ones(3)})
    store.close()
    (tmp_path / "index.sqlite").write_bytes(b"garbage" * 1000)
    with pytest.raises(DiskFault, match="not a database"):
        DiskStore(tmp_path).stats()
    fresh = DiskStore(tmp_path)
    fresh.clear()
    assert fresh.stats()["entries"] == 0 and not fresh.path("a" * 32, "safetensors").exists()
    fresh.put("b" * 32, {"out": torch.ones(3)})
    assert torch.equal(fresh.get("b" * 32)["out"], torch.ones(3))


def test_values_nested_too_deeply_stay_in_memory() -> None:
    value: Any = 1
    for _ in range(5000):
        value = (value,)
    with pytest.raises(NotSerializable):
        codec.encode({"out": value})
