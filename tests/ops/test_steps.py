"""Step-range arithmetic (docs/semantics.md §3.2, §15 #1–2) and the pure-Python call count."""

from __future__ import annotations

import pytest

from graphrt.ops.kernels.schedules import calculate_sigmas
from graphrt.ops.kernels.steps import (
    MAX_TOTAL_STEPS,
    ancestral_down_is_zero,
    model_calls,
    step_range,
)

FULL = calculate_sigmas("normal", 10)


def test_full_run_is_the_schedule() -> None:
    assert step_range("euler", "normal", 10) == FULL
    assert step_range("euler", "normal", 10, denoise=0.99995) == FULL  # d > 0.9999 counts as 1


def test_denoise_uses_the_tail_of_a_longer_schedule() -> None:
    assert int(7 / 0.07) == 99  # float truncation, reproduced (§15 #1)
    assert step_range("euler", "karras", 7, denoise=0.07) == calculate_sigmas("karras", 99)[-8:]
    assert step_range("euler", "normal", 17, denoise=0.68) == calculate_sigmas("normal", 24)[-18:]


def test_denoise_zero_or_no_steps_leaves_input() -> None:
    assert step_range("euler", "normal", 10, denoise=0.0) == []
    assert step_range("euler", "normal", 10, denoise=-1.0) == []
    assert step_range("euler", "normal", 0) == []


@pytest.mark.parametrize("start", [10, 11, 25])
def test_start_at_or_beyond_the_end_leaves_input(start: int) -> None:
    assert step_range("euler", "normal", 10, start=start) == []  # no noise, no model call
    assert step_range("euler", "normal", 10, start=3, end=3) == []


def test_leftover_noise_on_and_off() -> None:
    kept = step_range("euler", "normal", 10, end=4, force_full_denoise=False)
    assert kept == FULL[:5] and kept[-1] > 0
    forced = step_range("euler", "normal", 10, end=4, force_full_denoise=True)
    assert forced == FULL[:4] + [0.0]
    second = step_range("euler", "normal", 10, start=4)
    assert second == FULL[4:]  # the hand-off: stage 2 starts where stage 1 left noise


@pytest.mark.parametrize("end", [10, 11, 10_000])
def test_end_at_or_past_n_makes_force_moot(end: int) -> None:
    for force in (True, False):
        assert step_range("euler", "normal", 10, end=end, force_full_denoise=force) == FULL


def test_add_noise_is_not_a_step_range_concern() -> None:
    """add_noise changes the initial state only (§3.2 step 4), never the sigma list."""
    assert step_range("euler", "normal", 10, start=4) == FULL[4:]


def test_one_entry_list_runs_no_step() -> None:
    assert step_range("euler", "normal", 10, end=0, force_full_denoise=False) == FULL[:1]
    assert model_calls("euler", FULL[:1]) == 0


def test_discard_penultimate_applies_to_ranges() -> None:
    s = step_range("dpm_2", "normal", 10, start=8)
    full = calculate_sigmas("normal", 11)
    assert s == [full[8], full[9], 0.0]


def test_caps_and_validation() -> None:
    step_range("euler", "normal", 100, denoise=100 / MAX_TOTAL_STEPS)  # exactly at the cap
    with pytest.raises(ValueError, match="total steps"):
        step_range("euler", "normal", 10, denoise=1e-4)
    with pytest.raises(ValueError, match="unknown sampler"):
        step_range("nope", "normal", 10)
    with pytest.raises(ValueError):
        step_range("euler", "normal", 10, start=-1)


def test_model_calls_by_family() -> None:
    s = FULL  # 10 steps, the last to 0
    assert model_calls("euler", s) == 10
    assert model_calls("heun", s) == 19  # the last step is Euler
    assert model_calls("dpm_2", s) == model_calls("dpmpp_sde_gpu", s) == 19
    assert model_calls("dpm_2_ancestral", s) == 19
    assert model_calls("heunpp2", s) == 1 + 2 + 3 * 8
    assert model_calls("heunpp2", s[:5]) == 1 + 2 + 3 * 2  # a range ending with leftover noise
    assert model_calls("dpm_fast", s) == 10
    assert model_calls("dpm_adaptive", s) is None
    assert model_calls("heun", s[:4]) == 6


def test_ancestral_step_zero_only_at_the_end() -> None:
    assert ancestral_down_is_zero(1.0, 0.0)
    assert not ancestral_down_is_zero(14.6, 0.03)
    assert not ancestral_down_is_zero(1.0, 1.0)  # equal sigmas: σ_up = 0, σ_down = σ
    assert ancestral_down_is_zero(1.0, 2.0)  # ascending: √(negative) = NaN, min keeps σ_next
