"""The receding-horizon runner: observation history in, timestamped chunks into the action buffer.

Scheduling (every observation tick, 10 Hz): if no chunk is being computed and ``n_execute``
periods have passed since the last request, request one from the history. A chunk requested at
``t`` *arrives* ``latency`` later; until then the robot keeps executing the old buffer. On arrival
the buffer drops the waypoints already due and overwrites its future (see `ActionBuffer`).

`ChunkRunner` is clock-agnostic: the caller says what time it is. In evaluation the clock is the
simulated one and the latency is either the measured wall time of ``predict_chunk`` ("auto") or a
fixed number of milliseconds, so asynchronous execution is evaluated deterministically and faster
than real time. On a robot, `policy.runtime.realtime.RealtimeRunner` drives the same object from
a wall clock with inference on its own thread.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from devices.control import Setpoint
from devices.robot import Action
from policy.runtime.buffer import WAYPOINT_DIM, ActionBuffer, BlendSettings
from policy.runtime.observation import Observation
from policy.runtime.predictors import ChunkPredictor

_EPS = 1e-9


def parse_latency(text: str | float | None) -> float | None:
    """``"auto"`` → None (measure it); ``"0"``/``"120"``/``120`` → milliseconds. ValueError otherwise."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "auto"):
        return None
    try:
        ms = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"--latency takes auto, 0 or a number of milliseconds, got {text!r}") from None
    if not np.isfinite(ms) or ms < 0:
        raise ValueError(f"--latency must be a finite number of milliseconds >= 0, got {text!r}")
    return ms


@dataclass(frozen=True)
class RuntimeSettings:
    rate_hz: float = 10.0  # waypoints and observations
    control_hz: float = 100.0  # low-level controller
    n_obs_steps: int = 2  # observations per request (Diffusion Policy's default)
    n_execute: int = 8  # periods between requests (the executed part of each chunk)
    latency_ms: float | None = 0.0  # None: the measured wall time of each prediction
    blend: BlendSettings = field(default_factory=BlendSettings)
    max_hold_s: float = 0.3  # the last waypoint is held this long, then the buffer is stale
    # Waypoint i is due at t_obs + (i + due_offset)·dt. 0 is Diffusion Policy's convention for
    # chunks; a step-by-step agent's single action is "where to be one period from now" (1).
    due_offset: int = 0

    def __post_init__(self) -> None:
        if self.n_obs_steps < 1 or self.n_execute < 1 or self.due_offset < 0:
            raise ValueError("n_obs_steps and n_execute must be at least 1, due_offset at least 0")
        ratio = self.control_hz / self.rate_hz
        if not (self.rate_hz > 0 and self.control_hz >= 100 and abs(ratio - round(ratio)) < 1e-9):
            raise ValueError(f"control_hz ({self.control_hz}) must be >= 100 and a whole multiple of rate_hz ({self.rate_hz})")
        if self.latency_ms is not None and not (np.isfinite(self.latency_ms) and self.latency_ms >= 0):
            raise ValueError(f"latency must be >= 0 ms, got {self.latency_ms}")

    @property
    def dt(self) -> float:
        return 1.0 / self.rate_hz

    @property
    def ticks_per_period(self) -> int:
        return int(round(self.control_hz / self.rate_hz))


def checked_chunk(chunk: object) -> np.ndarray:
    """The predictor's output as a float (T, 8) array; ValueError for any other shape.

    A predictor may return the array itself or an object with an ``actions`` array (the trained
    policy's ``ActionChunk``). Non-finite numbers are let through: the safety filter holds on
    them and counts it.
    """
    arr = np.asarray(getattr(chunk, "actions", chunk), dtype=float)
    if arr.ndim != 2 or arr.shape[1] != WAYPOINT_DIM or len(arr) == 0:
        raise ValueError(f"predict_chunk must return (T, {WAYPOINT_DIM}) waypoints, got shape {arr.shape}")
    return arr


def chunk_times(t_obs: float, length: int, dt: float, due_offset: int = 0) -> np.ndarray:
    """Due times of a chunk predicted from an observation at ``t_obs``: t_obs + (i + offset)·dt."""
    return t_obs + (np.arange(length) + due_offset) * dt


@dataclass
class _Pending:
    requested: float
    arrival: float
    times: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Request:
    """A prediction handed to another thread (wall-clock runner)."""

    history: list[Observation]
    requested: float
    generation: int  # the runner's restart count when it was made


@dataclass
class RunnerStats:
    """What happened during an episode, for the evaluation report."""

    chunks: int = 0
    latency_ms: list[float] = field(default_factory=list)  # latency applied (simulated or real)
    predict_ms: list[float] = field(default_factory=list)  # measured wall time of predict_chunk
    dropped_waypoints: int = 0
    all_stale_chunks: int = 0


class ChunkRunner:
    """Owns the observation history, the request schedule, the in-flight chunk and the buffer."""

    def __init__(self, predictor: ChunkPredictor, settings: RuntimeSettings | None = None,
                 wall_clock: Callable[[], float] = time.perf_counter) -> None:
        self.predictor = predictor
        self.settings = settings or RuntimeSettings()
        self.buffer = ActionBuffer(self.settings.max_hold_s, self.settings.blend)
        self._wall = wall_clock
        self.history: deque[Observation] = deque(maxlen=self.settings.n_obs_steps)
        self.stats = RunnerStats()
        self._pending: _Pending | None = None
        self._last_request = -np.inf
        self._generation = 0

    def reset(self) -> None:
        self.predictor.reset()
        self.buffer.clear()
        self.history.clear()
        self.stats = RunnerStats()
        self._pending = None
        self._last_request = -np.inf
        self._generation += 1

    # -- scheduling --------------------------------------------------------------------------------
    def observe(self, obs: Observation) -> None:
        self.history.append(obs)

    def padded_history(self) -> list[Observation]:
        """The last ``n_obs_steps`` observations; at an episode's start the first is repeated
        (as Diffusion Policy does)."""
        if not self.history:
            raise RuntimeError("request before any observation")
        hist = list(self.history)
        return [hist[0]] * (self.settings.n_obs_steps - len(hist)) + hist

    @property
    def in_flight(self) -> bool:
        return self._pending is not None

    def next_request_time(self, now: float) -> float:
        """Earliest instant a request can be made (the next one is at the first tick at/after it)."""
        due = self._last_request + self.settings.n_execute * self.settings.dt
        if self._pending is not None:
            due = max(due, self._pending.arrival)
        return max(due, now)

    def wants_request(self, now: float) -> bool:
        return self._pending is None and now >= self._last_request + self.settings.n_execute * self.settings.dt - _EPS

    def request(self, now: float) -> _Pending:
        """Predict from the history now; the chunk arrives after the latency (`deliver`).

        Simulated time: the prediction runs at once, its arrival is scheduled ``latency`` later.
        """
        hist = self.padded_history()
        t0 = self._wall()
        chunk = checked_chunk(self.predictor.predict_chunk(hist))
        predict_s = self._wall() - t0
        latency_s = predict_s if self.settings.latency_ms is None else self.settings.latency_ms / 1000.0
        times = chunk_times(hist[-1].time, len(chunk), self.settings.dt, self.settings.due_offset)
        self._pending = _Pending(requested=now, arrival=now + latency_s, times=times, values=chunk)
        self._last_request = now
        self._count(latency_s, predict_s)
        return self._pending

    # -- the same schedule on a wall clock (policy.runtime.realtime) ------------------------------
    def begin_request(self, now: float) -> "Request":
        """Mark a request in flight and return what to predict from (on another thread)."""
        hist = self.padded_history()
        self._pending = _Pending(requested=now, arrival=np.inf, times=np.zeros(0), values=np.zeros((0, WAYPOINT_DIM)))
        self._last_request = now
        return Request(history=hist, requested=now, generation=self._generation)

    def finish_request(self, request: "Request", chunk: object, predict_s: float, now: float,
                       current: Action | None = None) -> bool:
        """The prediction for ``request`` arrived at ``now``: write it into the buffer.

        A prediction started before a `restart` (e.g. a take-over) is thrown away: its plan was
        made for a situation that no longer exists. Returns whether the chunk was written.
        """
        if request.generation != self._generation:
            return False
        try:
            values = checked_chunk(chunk)
            times = chunk_times(request.history[-1].time, len(values), self.settings.dt, self.settings.due_offset)
            report = self.buffer.write(times, values, now, current)
        finally:
            self._pending = None
        self._count(now - request.requested, predict_s)
        self.stats.dropped_waypoints += report.dropped
        self.stats.all_stale_chunks += int(report.all_stale)
        return True

    def cancel_request(self) -> None:
        """The in-flight prediction failed or was abandoned; the next tick may request again."""
        self._pending = None

    def restart(self) -> None:
        """Drop the plan and any chunk in flight (e.g. after a take-over); replan at the next tick."""
        self.buffer.clear()
        self._pending = None
        self._last_request = -np.inf
        self._generation += 1

    def _count(self, latency_s: float, predict_s: float) -> None:
        self.stats.chunks += 1
        self.stats.latency_ms.append(latency_s * 1000.0)
        self.stats.predict_ms.append(predict_s * 1000.0)

    def deliver(self, now: float, current: Action | None = None) -> bool:
        """Write the in-flight chunk into the buffer if it has arrived by ``now``.

        ``current`` is the command being executed (anchors the first chunk of an episode).
        """
        p = self._pending
        if p is None or p.arrival > now + _EPS:
            return False
        report = self.buffer.write(p.times, p.values, now, current)
        self.stats.dropped_waypoints += report.dropped
        self.stats.all_stale_chunks += int(report.all_stale)
        self._pending = None
        return True

    # -- SetpointSource ----------------------------------------------------------------------------
    def setpoint(self, now: float) -> Setpoint:
        return self.buffer.setpoint(now)
