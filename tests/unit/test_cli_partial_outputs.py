"""`graphrt run` on a document that skips invalid outputs (a ComfyUI prompt): one warning per
output left out, on stderr, and exit 0 when the rest ran; refused (exit 2) when no output is
left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphrt.fronts.cli import EXIT_INVALID, EXIT_OK, main
from tests.server.workflows import txt2img


def write(tmp_path: Path, broken_first: bool = False) -> str:
    prompt = txt2img(steps=2)
    prompt["18"] = {"class_type": "VAEDecode", "inputs": {"samples": ["99", 0],
                                                          "vae": ["4", 2]}}
    prompt["19"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "second",
                                                          "images": ["18", 0]}}
    if broken_first:
        prompt["8"]["inputs"]["vae"] = ["4", 9]
    path = tmp_path / "prompt.json"
    path.write_text(json.dumps(prompt))
    return str(path)


def test_run_warns_per_dropped_output_and_exits_0(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["run", write(tmp_path), "--no-disk-cache", "--out", str(out)]) == EXIT_OK
    err = capsys.readouterr().err
    (warning,) = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "output '19' left out" in warning and "18.samples" in warning
    assert [p.name for p in out.iterdir()] and all("second" not in p.name for p in out.iterdir())
    assert main(["run", write(tmp_path), "--no-disk-cache", "--out", str(out),
                 "--json"]) == EXIT_OK
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert list(summary["dropped_outputs"]) == ["19"] and list(summary["outputs"]) == ["9"]
    assert "output '19' left out" in captured.err


def test_validate_and_plan_name_the_dropped_outputs(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", write(tmp_path), "--json"]) == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] and list(result["dropped_outputs"]) == ["19"]
    assert main(["plan", write(tmp_path), "--json", "--no-disk-cache"]) == EXIT_OK
    assert list(json.loads(capsys.readouterr().out)["dropped_outputs"]) == ["19"]


def test_no_output_left_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", write(tmp_path, broken_first=True), "--no-disk-cache"]) == EXIT_INVALID
    assert "invalid graph" in capsys.readouterr().err
