import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def graphrt(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphrt", *args], capture_output=True,
                          text=True, timeout=300, check=check)


def test_import_and_validate_do_not_import_torch(tmp_path: Path) -> None:
    probe = ("import sys, graphrt; from graphrt.fronts.cli import main; "
             "rc = main(sys.argv[1:]); "
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('torch', 'k_diffusion', 'diffusers', 'transformers', 'spandrel')); "
             "print(json.dumps(bad)) if False else print('HEAVY', bad); sys.exit(rc)")
    probe = "import json\n" + probe
    for cmd in (["ops", "--json"], ["validate", "txt2img"], ["plan", "txt2img", "--json"]):
        proc = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().endswith("HEAVY []"), (cmd, proc.stdout[-300:])
    proc = subprocess.run([sys.executable, "-c", "import sys, graphrt; "
                           "print(any(m.startswith('torch') for m in sys.modules))"],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False"


def test_ops_json_lists_schemas() -> None:
    schemas = json.loads(graphrt("ops", "--json", check=True).stdout)
    names = {s["name"] for s in schemas}
    assert {"sample.steps", "model.load_checkpoint", "mask.grow"} <= names
    steps = next(s for s in schemas if s["name"] == "sample.steps")
    assert steps["params"]["type"] == "object" and "seed" in steps["params"]["properties"]
    assert {p["name"] for p in steps["inputs"]} >= {"model", "positive", "negative", "latent"}


def test_bad_command_line_values_exit_2(tmp_path: Path) -> None:
    proc = graphrt("validate", "txt2img", "--arg", "nope=1", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["issues"][0]["code"] == "unknown_arg"
    proc = graphrt("validate", "txt2img", "--set", "nonsense")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_cache_stats_and_clear(tmp_path: Path) -> None:
    out = json.loads(graphrt("cache", "stats", "--json", "--cache-dir", str(tmp_path),
                             check=True).stdout)
    assert out["entries"] == 0
    graphrt("cache", "clear", "--cache-dir", str(tmp_path), check=True)


def test_progress_printer_draws_a_bar_per_sampling_node(capsys) -> None:
    from graphrt import Registry, Runtime
    from graphrt.fronts.progress import ProgressPrinter
    from tests.fakeops import FAKE_OPS

    doc = {"nodes": {"a": {"op": "test.const"},
                     "s": {"op": "test.slow", "in": {"a": "a.out"},
                           "params": {"steps": 3, "delay": 0}}}, "outputs": {"x": "s.out"}}
    printer = ProgressPrinter(enabled=True)
    Runtime(registry=Registry(FAKE_OPS)).run(doc, on_event=printer)
    printer.close()
    err = capsys.readouterr().err
    assert "done   a (test.const)" in err and "done   s (test.slow)" in err
    assert "3/3" in err  # the tqdm bar reached the last step
    quiet = ProgressPrinter(enabled=False)
    Runtime(registry=Registry(FAKE_OPS)).run(doc, on_event=quiet)
    assert capsys.readouterr().err == ""


# --- a broken disk cache never stops a run (issue 14, break 5) -------------------------------

SMALL = {"nodes": {"i": {"op": "image.load", "params": {"name": "example.png"}},
                   "s": {"op": "image.save", "in": {"images": "i.image"},
                         "params": {"prefix": "small"}}},
         "outputs": {"images": "s.images"}}


def _broken_cache(fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder with `fault`: made on disk, or injected where the disk is written."""
    from graphrt.core.store import disk

    cache = tmp_path / "cache"
    if fault == "garbage index":
        cache.mkdir()
        (cache / "index.sqlite").write_bytes(b"not a database at all" * 100)
    elif fault == "cache folder under a file":
        cache.write_text("a file")
        cache = cache / "cache"
    elif fault in ("full disk", "read-only folder"):
        code = errno.ENOSPC if fault == "full disk" else errno.EROFS

        def refuse(path: Path, data: bytes) -> None:
            raise OSError(code, os.strerror(code), str(path))

        monkeypatch.setattr(disk, "write_file", refuse)
    return cache


def _run_small(tmp_path: Path, cache: Path, *extra: str) -> list[str]:
    graph = tmp_path / "small.json"
    graph.write_text(json.dumps(SMALL))
    return ["run", str(graph), "--cache-dir", str(cache), "--out", str(tmp_path / "out"),
            *extra]


@pytest.mark.parametrize("fault", ["garbage index", "cache folder under a file"])
def test_run_survives_a_broken_disk_cache(fault: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _broken_cache(fault, tmp_path, monkeypatch)
    proc = graphrt(*_run_small(tmp_path, cache, "--json"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["outputs"]["images"] == ["small_00001_.png"] and summary["failed"] == {}
    assert (tmp_path / "out" / "small_00001_.png").is_file()
    plan = graphrt("plan", str(tmp_path / "small.json"), "--cache-dir", str(cache))
    assert plan.returncode == 0 and "warning: disk cache" in plan.stderr


@pytest.mark.parametrize("fault", ["full disk", "read-only folder"])
def test_run_survives_a_disk_cache_that_refuses_writes(
        fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from graphrt.fronts.cli import main

    cache = _broken_cache(fault, tmp_path, monkeypatch)
    assert main(_run_small(tmp_path, cache)) == 0
    assert (tmp_path / "out" / "small_00001_.png").is_file()
    assert "Traceback" not in capsys.readouterr().err
    assert list((cache / "tmp").iterdir()) == []  # the refused writes left nothing


@pytest.mark.parametrize("fault", ["garbage index", "full disk"])
def test_run_prints_one_warning_for_a_broken_disk_cache(
        fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from graphrt.fronts.cli import main

    cache = _broken_cache(fault, tmp_path, monkeypatch)
    assert main(_run_small(tmp_path, cache)) == 0
    err = capsys.readouterr().err
    assert err.count("warning: disk cache") == 1 and "memory cache only" in err
    assert main(_run_small(tmp_path, cache, "--json")) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(summary["warnings"]) == 1 and str(cache) in summary["warnings"][0]


def test_cache_command_reports_and_resets_a_garbage_index(tmp_path: Path) -> None:
    (tmp_path / "index.sqlite").write_bytes(b"not a database at all" * 100)
    stats = graphrt("cache", "stats", "--cache-dir", str(tmp_path))
    assert stats.returncode == 1 and "not a database" in stats.stderr
    assert "Traceback" not in stats.stderr
    cleared = graphrt("cache", "clear", "--json", "--cache-dir", str(tmp_path))
    assert cleared.returncode == 0 and json.loads(cleared.stdout)["entries"] == 0
