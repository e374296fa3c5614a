"""The run's device and dtype are in the keys of the ops that compute on them, and only
there: a disk cache shared by a CPU run and a GPU fp16 run never hands one the other's
results, and device-free nodes are shared."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graphrt import Runtime
from graphrt.core.settings import RunSettings

ROOT = Path(__file__).resolve().parents[2]
INPAINT = ROOT / "graphs" / "inpaint.json"


def keys(**settings: str) -> tuple[dict[str, str], dict[str, bool], dict[str, list[str]]]:
    plan = Runtime(**settings).plan(INPAINT).plan
    device = {n: plan.node(n).spec.device for n in plan.order}
    return plan.keys, device, plan.upstreams


def downstream_of(nodes: set[str], upstreams: dict[str, list[str]]) -> set[str]:
    out = set(nodes)
    changed = True
    while changed:
        changed = False
        for n, ups in upstreams.items():
            if n not in out and out & set(ups):
                out.add(n)
                changed = True
    return out


@pytest.mark.parametrize("other", [{"device": "cuda"}, {"device": "cuda", "dtype": "bf16"},
                                   {"device": "cpu", "dtype": "fp16"}])
def test_device_and_dtype_change_exactly_the_device_nodes_and_what_follows(
        other: dict[str, str]) -> None:
    cpu, device, upstreams = keys(device="cpu")
    alt, _, _ = keys(**other)
    device_nodes = {n for n, d in device.items() if d}
    assert {"ckpt", "pos", "neg", "encode", "sample", "decode"} <= device_nodes
    changed = {n for n in cpu if cpu[n] != alt[n]}
    assert changed == downstream_of(device_nodes, upstreams)
    same = set(cpu) - changed
    assert {"load", "rect", "mask"} <= same  # image.load, mask.rect, mask.grow: no device


def test_cuda_devices_share_keys_and_fp16_differs_from_bf16() -> None:
    assert keys(device="cuda:0")[0] == keys(device="cuda:1")[0]
    assert keys(device="cuda", dtype="fp16")[0] != keys(device="cuda", dtype="bf16")[0]
    assert keys(device="cuda")[0] == keys(device="cuda", dtype="fp16")[0]  # auto → fp16


def test_settings_resolve_and_reject_unknown_values() -> None:
    assert RunSettings.resolve("cpu") == RunSettings("cpu", "fp32")
    assert RunSettings.resolve("cuda:1").key() == ["cuda", "fp16"]
    with pytest.raises(ValueError, match="device"):
        RunSettings.resolve("tpu")
    with pytest.raises(ValueError, match="dtype"):
        RunSettings.resolve("cpu", "fp8")


def test_plan_reports_the_settings() -> None:
    report = Runtime(device="cuda", dtype="bf16").plan(INPAINT).to_dict()
    assert report["settings"] == {"device": "cuda", "dtype": "bf16"}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_shared_disk_cache_keeps_cpu_and_cuda_results_apart(tmp_path: Path) -> None:
    shared = {"cache_dir": tmp_path / "cache", "output_dir": tmp_path / "out"}
    first = Runtime(device="cpu", **shared).run(INPAINT)
    gpu = Runtime(device="cuda", **shared).run(INPAINT)
    device_nodes = {n for n in first.statuses if n in ("ckpt", "pos", "neg", "encode",
                                                       "sample", "decode")}
    assert device_nodes <= set(gpu.executed)
    assert {"load", "rect", "mask"} <= set(gpu.cached)
    again = Runtime(device="cpu", **shared).run(INPAINT)
    assert again.executed == []
