"""Initial and per-step noise (docs/semantics.md §4, docs/design-notes.md): exact, private,
process-independent."""

from __future__ import annotations

import subprocess
import sys

import torch

from graphrt.ops.kernels.noise import (
    BrownianNoise,
    StepNoise,
    prepare_noise,
    step_noise,
    wrap_seed,
)

SHAPE = (2, 4, 8, 8)


def test_whole_shape_is_one_cpu_draw() -> None:
    g = torch.Generator("cpu").manual_seed(1234)
    want = torch.randn(SHAPE, generator=g, dtype=torch.float32)
    assert torch.equal(prepare_noise(torch.zeros(SHAPE), 1234), want)


def test_batch_index_draws_sequentially_with_duplicates() -> None:
    g = torch.Generator("cpu").manual_seed(5)
    draws = [torch.randn((1, 4, 8, 8), generator=g) for _ in range(4)]
    got = prepare_noise(torch.zeros(3, 4, 8, 8), 5, batch_index=[3, 1, 3])
    assert torch.equal(got, torch.cat([draws[3], draws[1], draws[3]]))
    # one image cut from a batch reproduces its noise
    whole = prepare_noise(torch.zeros(4, 4, 8, 8), 5, batch_index=[0, 1, 2, 3])
    assert torch.equal(prepare_noise(torch.zeros(1, 4, 8, 8), 5, batch_index=[2]), whole[2:3])


def test_dtype_cast_after_a_float32_draw() -> None:
    g = torch.Generator("cpu").manual_seed(9)
    want = torch.randn(SHAPE, generator=g).to(torch.float16)
    assert torch.equal(prepare_noise(torch.zeros(SHAPE, dtype=torch.float16), 9), want)


def test_seeds_wrap_modulo_2_64() -> None:
    assert wrap_seed(2**64 + 7) == 7 and wrap_seed(-1) == 2**64 - 1
    x = torch.zeros(SHAPE)
    assert torch.equal(prepare_noise(x, 2**64 + 7), prepare_noise(x, 7))
    prepare_noise(x, 2**64 - 1)  # the UI maximum is a valid seed


def test_global_rng_untouched() -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state()
    x = torch.zeros(SHAPE)
    prepare_noise(x, 3)
    prepare_noise(x, 3, batch_index=[0, 2])
    step_noise(x, 3, "ancestral", 4)
    BrownianNoise(x, [14.6, 1.0, 0.03, 0.0], 3)(14.6, 1.0)
    assert torch.equal(torch.get_rng_state(), before)


def test_step_noise_depends_on_seed_stream_and_index_only() -> None:
    x = torch.zeros(1, 4, 8, 8)
    a = step_noise(x, 7, "ancestral", 3)
    assert torch.equal(a, step_noise(x, 7, "ancestral", 3))
    for other in (
        step_noise(x, 8, "ancestral", 3),
        step_noise(x, 7, "ancestral", 4),
        step_noise(x, 7, "other", 3),
    ):
        assert not torch.equal(a, other)


def test_step_noise_sampler_uses_absolute_index() -> None:
    x = torch.zeros(1, 4, 8, 8)
    sig = torch.tensor([5.0, 3.0, 2.0, 2.0, 1.0, 0.0])
    full = StepNoise(x, sig, 11)
    part = StepNoise(x, sig[2:], 11, offset=2)
    want = [full(sig[i], sig[i + 1]) for i in range(5)]
    assert all(torch.equal(want[2 + i], part(sig[2 + i], sig[3 + i])) for i in range(3))
    assert not torch.equal(want[2], want[3])  # a repeated sigma still advances the step


def test_brownian_path_is_shared_by_ranges() -> None:
    x = torch.zeros(1, 4, 8, 8)
    full = [14.6, 7.0, 3.0, 1.0, 0.3, 0.03, 0.0]
    a, b = BrownianNoise(x, full, 5), BrownianNoise(x, full, 5)
    ref = [a(full[i], full[i + 1]) for i in range(5)]
    assert torch.equal(b(full[3], full[4]), ref[3])  # a later range, queried first
    assert 0.7 < float(ref[0].std()) < 1.3  # unit variance increments
    assert not torch.equal(BrownianNoise(x, full, 6)(full[3], full[4]), ref[3])


_SCRIPT = """
import hashlib, torch
from graphrt.ops.kernels.noise import prepare_noise, step_noise, BrownianNoise
x = torch.zeros(2, 4, 8, 8)
parts = [prepare_noise(x, 42), prepare_noise(x, 42, [1, 0]), step_noise(x, 42, "ancestral", 3),
         BrownianNoise(x, [14.6, 2.0, 0.03, 0.0], 42)(2.0, 0.03)]
print(hashlib.sha256(b"".join(p.numpy().tobytes() for p in parts)).hexdigest())
"""


def test_same_bytes_in_separate_processes() -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", _SCRIPT], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(outs[0]) == 64 and outs[0] == outs[1]
