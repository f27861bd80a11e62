"""The low-level control loop: one path from any command source, through the safety filter, to a robot.

A *setpoint source* answers "where should the hand be at time t?" — the policy's action buffer
(interpolating its 10 Hz waypoints), a teleop device's latest target, or the take-over arbiter
choosing between them. `SafetyController.tick(now)` asks the active source, runs the answer
through `SafetyFilter` and sends the result to the robot, at 100 Hz or faster. Because teleop and
policies meet here, they get the same limits, the same hold-on-loss behaviour, the same e-stop,
and what the robot receives (and what gets recorded) is always the filtered command.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from devices.geometry import quat_mul
from devices.robot import Action, Robot
from devices.safety import (
    SafetyFilter,
    SafetyLimits,
    _qmul4,
    _rot_between4,
    _rotvec_quat4,
    _unit4,
    limits_for,
    rotation_between,
    rotvec_to_quat,
    safe_unit_quat,
)


@dataclass(frozen=True)
class NoSetpoint:
    """A source has nothing to command now; ``reason`` is "empty", "stale" or "source_lost"."""

    reason: str


Setpoint = Action | NoSetpoint


@runtime_checkable
class SetpointSource(Protocol):
    """Anything that can say where the hand should be at time ``now`` (seconds, the loop's clock)."""

    def setpoint(self, now: float) -> Setpoint: ...


class SourceLost(RuntimeError):
    """Raised by a source whose device is gone (unplugged, stopped streaming)."""


def interpolate_pose(a: np.ndarray, b: np.ndarray, s: np.ndarray | float) -> np.ndarray:
    """Blend (…, 8) pose+gripper vectors: linear position and gripper, slerp orientation.

    ``s`` in [0, 1] is the fraction of the way from ``a`` to ``b``. Works on batches; non-finite
    input gives non-finite output (the safety filter then holds), never an exception.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    s = np.asarray(s, dtype=float)
    out = a + (b - a) * s[..., None]
    qa, ok_a = safe_unit_quat(a[..., 3:7])
    qb, ok_b = safe_unit_quat(b[..., 3:7])
    r = rotation_between(qb, qa)
    q = quat_mul(rotvec_to_quat(r * s[..., None]), qa)
    q = np.where((ok_a & ok_b)[..., None], q, np.nan)
    out[..., 3:7] = q
    return out


def interpolate_pose_one(a, b, s: float) -> list[float]:
    """`interpolate_pose` for one pair of 8-vectors in plain floats (the 100 Hz path; ~10 µs)."""
    out = [a[i] + (b[i] - a[i]) * s for i in range(8)]
    qa, qb = _unit4(a[3:7]), _unit4(b[3:7])
    if qa is None or qb is None:
        out[3:7] = [math.nan] * 4
    else:
        r = _rot_between4(qb, qa)
        out[3:7] = _qmul4(_rotvec_quat4((r[0] * s, r[1] * s, r[2] * s)), qa)
    return out


class LatestTargetSource:
    """The latest target from a device that streams absolute targets (teleop mappers), thread-safe.

    A target older than ``max_age_s`` is stale (the device stopped talking: hold); after
    `mark_lost` the source reports "source_lost" until the next `push`.
    """

    def __init__(self, max_age_s: float = 0.2) -> None:
        self.max_age_s = float(max_age_s)
        self._lock = threading.Lock()
        self._target: Action | None = None
        self._stamp = -np.inf
        self._lost = False

    def push(self, action: Action, stamp: float) -> None:
        with self._lock:
            self._target, self._stamp, self._lost = action, float(stamp), False

    def engage(self, current: Action, now: float) -> None:
        """Start from the command being executed (a take-over): no jump before the device moves."""
        self.push(current, now)

    def mark_lost(self) -> None:
        with self._lock:
            self._lost = True

    def clear(self) -> None:
        with self._lock:
            self._target, self._stamp, self._lost = None, -np.inf, False

    def setpoint(self, now: float) -> Setpoint:
        with self._lock:
            if self._lost:
                return NoSetpoint("source_lost")
            if self._target is None:
                return NoSetpoint("empty")
            if now - self._stamp > self.max_age_s:
                return NoSetpoint("stale")
            return self._target


class SafetyController:
    """Ticks a source through the safety filter into a robot. Not thread-safe: one loop owns it.

    ``tick`` is the only thing a control loop calls; `estop`/`release_estop` may be called from
    the same loop (a GUI posts them to it). The controller never raises because of a source: a
    source that raises is treated as lost and the robot holds.
    """

    def __init__(self, robot: Robot, source: SetpointSource | None = None, limits: SafetyLimits | None = None,
                 rate_hz: float = 100.0) -> None:
        if not (np.isfinite(rate_hz) and rate_hz >= 100.0):
            raise ValueError(f"the low-level controller runs at 100 Hz or faster, got {rate_hz}")
        self.robot = robot
        self.source = source
        self.filter = SafetyFilter(limits or limits_for(robot))  # the robot's own box unless told
        self.rate_hz = float(rate_hz)
        self.dt = 1.0 / self.rate_hz
        self.last_applied: Action | None = None
        # Why the last tick held instead of following a setpoint ("" when it followed one): lets a
        # recorder name the device of every sample honestly ("hold" while the filter held the arm).
        self.last_hold_reason = ""
        # What the source asked for at the last tick, before the filter (None: it asked nothing or
        # something non-finite). A recorder stores it beside the applied command: a policy stands
        # where the source stood, upstream of this filter, so it learns from the request.
        self.last_target: Action | None = None
        self.listeners: list[Callable[[float, Action], None]] = []

    @property
    def limits(self) -> SafetyLimits:
        return self.filter.limits

    @property
    def interventions(self) -> Counter:
        return self.filter.interventions

    def reset(self) -> Action:
        """Take over from whatever the robot is doing now: hold its current target, at rest."""
        current = self.robot.hold()
        self.filter.reset(current)
        self.last_target = None
        self.last_applied = self.robot.send_action(self.filter.command)
        return self.last_applied

    def estop(self) -> None:
        self.filter.estop()

    def release_estop(self) -> None:
        self.filter.release_estop()

    def tick(self, now: float) -> Action:
        """One control period: ask the source, filter, send. Returns the action the robot applied."""
        if not self.filter.is_ready:
            self.reset()
        target, reason = self._ask(now)
        command = self.filter.step(target, self.dt, reason)
        self.last_hold_reason = reason
        self.last_target = target if target is not None and target.is_finite() else None
        self.last_applied = self.robot.send_action(command)
        for listener in self.listeners:
            listener(now, self.last_applied)
        return self.last_applied

    def _ask(self, now: float) -> tuple[Action | None, str]:
        if self.source is None:
            return None, "empty"
        try:
            sp = self.source.setpoint(now)
        except Exception:  # noqa: BLE001 - a device that fails mid-read is a lost device, never a crash of the loop
            return None, "source_lost"
        if isinstance(sp, NoSetpoint):
            return None, sp.reason
        return sp, ""


class StepTargetSource:
    """Targets decided once per period (a 10 Hz expert, agent or recorder tick) as smooth setpoints.

    ``set(action, now, due)``: from ``now`` move from where the setpoint is at ``now`` to ``action``,
    reaching it at ``due`` (one period later), then hold it. Interpolating between the 10 Hz
    decisions is what lets a ≥100 Hz controller execute them without a step every 100 ms — the
    same thing the policy's action buffer does for a chunk. A target not renewed within
    ``max_hold_s`` after it was due is stale (the deciding loop stopped: the controller holds);
    `clear` means "no command" (the controller brakes to a hold). Thread-safe: a recorder thread
    sets, a control thread reads.
    """

    def __init__(self, max_hold_s: float = 0.3) -> None:
        self.max_hold_s = float(max_hold_s)
        self._lock = threading.Lock()
        self._start: list[float] | None = None
        self._target: list[float] | None = None
        self._t0 = 0.0
        self._due = 0.0

    def set(self, action: Action, now: float, due: float, current: Action | None = None) -> None:
        """Head for ``action`` from ``now``, arriving at ``due``. ``current`` (the command being
        executed) is the starting point when there is no earlier target to continue from."""
        target = [float(x) for x in action.as_vector()]
        with self._lock:
            start = self._value(now) if self._target is not None else None
            if start is None:
                start = [float(x) for x in current.as_vector()] if current is not None else target
            self._start, self._target = start, target
            self._t0, self._due = float(now), max(float(due), float(now))

    def clear(self) -> None:
        with self._lock:
            self._start = self._target = None

    def setpoint(self, now: float) -> Setpoint:
        with self._lock:
            if self._target is None:
                return NoSetpoint("empty")
            if now - self._due > self.max_hold_s:
                return NoSetpoint("stale")
            v = self._value(now)
        return Action(np.array(v[:7]), v[7])

    def _value(self, now: float) -> list[float]:
        assert self._start is not None and self._target is not None
        span = self._due - self._t0
        s = 1.0 if span <= 0 else min(max((now - self._t0) / span, 0.0), 1.0)
        if s >= 1.0:
            return list(self._target)
        return interpolate_pose_one(self._start, self._target, s)


class ControlLoop:
    """A `SafetyController` ticked on a wall clock by its own thread (live robots, real-time recording).

    Ticks run on absolute deadlines ``start + k / rate`` (never drifting); a tick that wakes late is
    counted, not repeated. ``before_tick(now)`` runs on the control thread first (e.g. a take-over
    button's state). The thread has a stop event; an exception in it stops the loop — the robot
    keeps its last, filtered command — and is re-raised by `stop`. In simulated time nothing runs
    in a thread: the clock that steps the physics ticks the controller (`devices.sim.station_clock.StationClock`).
    """

    def __init__(self, controller: SafetyController, clock: Callable[[], float] = time.monotonic,
                 before_tick: Callable[[float], None] | None = None) -> None:
        self.controller = controller
        self._clock = clock
        self._before_tick = before_tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.ticks = 0
        self.late_ticks = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the control loop is already running")
        if not self.controller.filter.is_ready:
            self.controller.reset()
        self._stop.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="safety-control", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop ticking (the robot holds its last command); re-raise the loop's error, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def __enter__(self) -> "ControlLoop":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        dt = self.controller.dt
        t0 = self._clock()
        k = 0
        try:
            while not self._stop.is_set():
                now = self._clock()
                if self._before_tick is not None:
                    self._before_tick(now)
                self.controller.tick(now)
                self.ticks += 1
                k += 1
                delay = t0 + k * dt - self._clock()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    self.late_ticks += 1
                    if delay < -dt:  # skip the deadlines already passed instead of bursting
                        k += int(-delay // dt)
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
            self._error = exc
