"""The tick clock: absolute deadlines (no drift), error statistics, missed ticks — on a fake clock."""

import os

import numpy as np
import pytest

from recorder.clock import MonotonicClock, SimulatedClock, Ticker, TickStats, realtime_priority, timing_summary


def test_late_wakeups_do_not_drift_the_deadlines():
    clock = SimulatedClock(start=5.0, lateness=lambda t: 0.003)  # every wake-up is 3 ms late
    ticker = Ticker(clock, 10.0)
    ticks = [ticker.wait() for _ in range(100)]
    deadlines = np.array([t.deadline for t in ticks])
    np.testing.assert_allclose(deadlines, 5.0 + 0.1 * np.arange(100), atol=1e-9)  # not 5 + 0.103 k
    np.testing.assert_allclose([t.error for t in ticks], 0.003, atol=1e-9)
    assert sum(t.missed for t in ticks) == 0


def test_a_slow_tick_skips_and_counts_missed_deadlines_instead_of_bursting():
    clock = SimulatedClock()
    ticker = Ticker(clock, 10.0)
    stats = TickStats(10.0)
    indices = []
    for i in range(10):
        tick = ticker.wait()
        stats.add(tick)
        indices.append(tick.index)
        if i == 3:
            clock.advance(0.35)  # this tick's work takes 350 ms: it ends at 0.65, after deadlines 4 and 5
    assert indices == [0, 1, 2, 3, 6, 7, 8, 9, 10, 11]
    assert stats.missed == 2
    summary = stats.summary()
    assert summary["missed_ticks"] == 2 and summary["ticks"] == 10
    assert summary["abs_error_ms_max"] == pytest.approx(50.0, abs=1e-6)  # woke at 0.65 for deadline 0.6


def test_jitter_statistics_are_reported_in_milliseconds():
    rng = np.random.default_rng(0)
    errors = rng.uniform(0, 0.004, 1000)
    it = iter(errors)
    clock = SimulatedClock(lateness=lambda t: next(it))
    ticker = Ticker(clock, 50.0)
    stats = TickStats(50.0)
    for _ in range(1000):
        stats.add(ticker.wait())
    s = stats.summary()
    assert s["abs_error_ms_p99"] == pytest.approx(np.percentile(errors, 99) * 1e3, rel=1e-6)
    assert s["abs_error_ms_p50"] == pytest.approx(np.median(errors) * 1e3, rel=1e-6)
    assert s["missed_ticks"] == 0


def test_simulated_clock_runs_its_hook_when_time_moves():
    moved = []
    clock = SimulatedClock(on_advance=moved.append)
    clock.sleep_until(0.1)
    clock.sleep_until(0.05)  # the past: nothing happens
    assert moved == [pytest.approx(0.1)] and clock.now() == pytest.approx(0.1)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_monotonic_clock_never_wakes_before_the_deadline():
    clock = MonotonicClock()
    for _ in range(5):
        t = clock.now() + 0.002
        clock.sleep_until(t)
        assert clock.now() >= t


def test_bad_rate_is_refused():
    with pytest.raises(ValueError):
        Ticker(SimulatedClock(), 0.0)
    assert timing_summary(np.array([]), 0, 10.0)["ticks"] == 0


def test_realtime_priority_is_best_effort_and_restored():
    before = os.sched_getscheduler(0)
    with realtime_priority(True) as got:
        if got.startswith("SCHED_FIFO"):
            assert os.sched_getscheduler(0) == os.SCHED_FIFO
        else:
            assert got.startswith("normal (real-time priority refused")
    assert os.sched_getscheduler(0) == before
    with realtime_priority(False) as got:
        assert got == "normal" and os.sched_getscheduler(0) == before
