import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from graphrt import Runtime
from graphrt.core import events as ev
from graphrt.core.errors import CorruptEntry, NotSerializable
from graphrt.core.store import DiskStore, MemoryStore, codec

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
