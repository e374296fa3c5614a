"""bench/real_models.py runs and prints its figures (CPU; the GPU part behind the gpu marker)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"graphrt +([\d.]+) it/s +diffusers loop +([\d.]+) it/s +ratio graphrt/"
                  r"diffusers time +([\d.]+)")


def _bench(*flags: str) -> list[tuple[float, ...]]:
    proc = subprocess.run([sys.executable, "bench/real_models.py", *flags], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = [tuple(float(g) for g in m.groups()) for m in LINE.finditer(proc.stdout)]
    assert figures, proc.stdout
    for ours, theirs, ratio in figures:
        assert ours > 0 and theirs > 0 and abs(ratio - theirs / ours) < 0.01 + 0.01 * ratio
    return figures


def test_cpu_bench_prints_graphrt_vs_diffusers() -> None:
    assert len(_bench("--steps", "2", "--size", "64", "--repeat", "1")) == 2


@pytest.mark.gpu
def test_gpu_bench_full_size_sdxl() -> None:
    assert len(_bench("--gpu", "--steps", "4", "--repeat", "1")) == 1
