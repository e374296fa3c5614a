"""Concurrent `graphrt run`s sharing one output folder and one disk cache (issue 14, break 8):
every image is kept under its own name, and the cache stays whole."""

import json
import subprocess
import sys
from pathlib import Path

from graphrt.core.store import DiskStore

RUNS = 6


def test_concurrent_runs_keep_every_image_and_share_the_cache(tmp_path: Path) -> None:
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps({
        "nodes": {"i": {"op": "image.load", "params": {"name": "example.png"}},
                  "s": {"op": "image.save", "in": {"images": "i.image"},
                        "params": {"prefix": "shared"}}},
        "outputs": {"images": "s.images"}}))
    out, cache = tmp_path / "out", tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, "-m", "graphrt", "run", str(graph), "--json",
                               "--out", str(out), "--cache-dir", str(cache)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(RUNS)]
    names = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "Traceback" not in stderr, stderr[-2000:]
        summary = json.loads(stdout.strip().splitlines()[-1])
        assert summary["warnings"] == []
        names += summary["outputs"]["images"]
    assert len(set(names)) == RUNS == len(list(out.glob("shared_*_.png")))
    assert all((out / n).stat().st_size > 0 for n in names) and not list(out.glob("*.tmp"))
    store = DiskStore(cache)
    assert store.stats()["entries"] >= 1 and list((cache / "tmp").iterdir()) == []
