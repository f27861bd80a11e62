"""The tick clock: absolute deadlines on an injectable clock, with per-episode timing statistics.

Deadlines are ``start + k / rate``, never "now + period", so a late tick does not push the next
one later and the recording never drifts. A tick that wakes after the *next* deadline has already
passed counts the skipped deadlines as missed instead of bursting to catch up.

The clock is injected: `MonotonicClock` for live recording (sleeps to just before the deadline and
spins the last fraction of a millisecond, since ``time.sleep`` alone overshoots by up to a
scheduler quantum), `SimulatedClock` for tests and headless recording, where "sleeping" advances
simulated time — for the station it steps the physics — so recording runs faster than real time.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import numpy as np


class Clock(Protocol):
    """Seconds on one monotonic time base; camera capture times must use the same base."""

    realtime: bool

    def now(self) -> float: ...

    def sleep_until(self, t: float) -> None: ...


class MonotonicClock:
    """Real time: ``time.monotonic()`` (on Linux the same CLOCK_MONOTONIC as ``perf_counter``)."""

    realtime = True

    def __init__(self, spin_s: float = 0.0008) -> None:
        self.spin_s = spin_s

    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, t: float) -> None:
        remaining = t - time.monotonic()
        if remaining > self.spin_s:
            time.sleep(remaining - self.spin_s)
        while time.monotonic() < t:
            time.sleep(0)  # yield the GIL to the writer thread while spinning


class SimulatedClock:
    """Simulated time that moves only when slept on (or advanced by hand, to simulate slow work).

    ``on_advance(dt)`` runs whenever time moves forward by sleeping, e.g. to step a simulation.
    ``lateness(t)`` adds a wake-up error after each sleep, to test how ticks handle jitter.
    """

    realtime = False

    def __init__(self, start: float = 0.0, on_advance: Callable[[float], None] | None = None,
                 lateness: Callable[[float], float] | None = None) -> None:
        self._now = float(start)
        self._on_advance = on_advance
        self._lateness = lateness

    def now(self) -> float:
        return self._now

    def advance(self, dt: float) -> None:
        """Let time pass without sleeping (work that takes time)."""
        if dt < 0:
            raise ValueError("time cannot go backwards")
        self._now += dt

    def sleep_until(self, t: float) -> None:
        target = max(self._now, t)
        if self._lateness is not None:
            target += max(0.0, float(self._lateness(t)))
        dt = target - self._now
        if dt > 0 and self._on_advance is not None:
            self._on_advance(dt)
        self._now = target


@contextmanager
def realtime_priority(enabled: bool, priority: int = 10) -> Iterator[str]:
    """Run the calling thread under SCHED_FIFO while inside, if allowed; yields what was in force.

    On a loaded machine a normal thread waking at its deadline can wait milliseconds for a CPU;
    a real-time thread does not (measured in bench/recorder.py). It needs root or CAP_SYS_NICE,
    so this is best effort: refused, the tick runs at normal priority and the episode's ``timing``
    says so. The kernel's RT throttling keeps a runaway loop from starving the machine, and the
    previous policy is restored on exit (a headless recording runs on the caller's thread).
    """
    if not enabled or not hasattr(os, "sched_setscheduler"):
        yield "normal"
        return
    try:
        old_policy, old_param = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError as exc:
        yield f"normal (real-time priority refused: {exc.strerror or exc})"
        return
    try:
        yield f"SCHED_FIFO:{priority}"
    finally:
        with suppress(OSError):
            os.sched_setscheduler(0, old_policy, old_param)


@dataclass(frozen=True)
class Tick:
    index: int  # deadline number since the ticker started (gaps = missed ticks)
    deadline: float  # clock time the tick was due
    time: float  # clock time it actually ran
    missed: int  # deadlines skipped just before this one

    @property
    def error(self) -> float:
        return self.time - self.deadline


@dataclass
class TickStats:
    """Tick-time errors and missed ticks of one episode (stored in its ``timing`` attribute)."""

    rate_hz: float
    errors: list[float] = field(default_factory=list)
    missed: int = 0
    priority: str = ""

    def add(self, tick: Tick) -> None:
        self.errors.append(tick.error)
        self.missed += tick.missed

    def summary(self) -> dict:
        out = timing_summary(np.asarray(self.errors, dtype=float), self.missed, self.rate_hz)
        if self.priority:
            out["priority"] = self.priority
        return out


def timing_summary(errors: np.ndarray, missed: int, rate_hz: float) -> dict:
    """Tick error statistics in milliseconds (absolute error for the percentiles)."""
    errors = np.asarray(errors, dtype=float)
    if errors.size == 0:
        return {"rate_hz": rate_hz, "ticks": 0, "missed_ticks": int(missed)}
    ab = np.abs(errors) * 1e3
    return {
        "rate_hz": rate_hz,
        "ticks": int(errors.size),
        "missed_ticks": int(missed),
        "error_ms_mean": float(np.mean(errors) * 1e3),
        "abs_error_ms_p50": float(np.percentile(ab, 50)),
        "abs_error_ms_p99": float(np.percentile(ab, 99)),
        "abs_error_ms_max": float(np.max(ab)),
    }


class Ticker:
    """Waits for successive absolute deadlines ``start + k / rate_hz`` on a clock."""

    def __init__(self, clock: Clock, rate_hz: float, start: float | None = None) -> None:
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValueError(f"tick rate must be a positive number of Hz, got {rate_hz}")
        self.clock = clock
        self.rate_hz = float(rate_hz)
        self.period = 1.0 / self.rate_hz
        self.start = clock.now() if start is None else float(start)
        self._next = 0

    def deadline(self, index: int) -> float:
        return self.start + index * self.period

    def wait(self) -> Tick:
        """Sleep until the next deadline; skip (and count) deadlines that have already passed."""
        self.clock.sleep_until(self.deadline(self._next))
        return self._take(self.clock.now())

    def poll(self, tolerance: float = 1e-6) -> Tick | None:
        """The next tick if its deadline has come, else None (never sleeps).

        For loops that own the clock themselves — a simulated-time runtime stepping the physics
        every 10 ms — and record a sample whenever a deadline has passed.
        """
        now = self.clock.now()
        if now < self.deadline(self._next) - tolerance:
            return None
        return self._take(now)

    def _take(self, now: float) -> Tick:
        index = self._next
        missed = 0
        late_by = now - self.deadline(index)
        if late_by >= self.period:
            missed = int(late_by // self.period)
            # Guard against float rounding putting `now` a hair before the computed deadline.
            while missed > 0 and self.deadline(index + missed) > now:
                missed -= 1
            index += missed
        self._next = index + 1
        return Tick(index=index, deadline=self.deadline(index), time=now, missed=missed)
