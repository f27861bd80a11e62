"""The action buffer: timestamped waypoints a policy wrote, read as a setpoint at any instant.

The runner writes whole chunks (10 Hz waypoints, each due at a time on the control clock); the
low-level controller reads `setpoint(now)` at 100 Hz, which interpolates between the waypoints
around ``now`` (linear position and gripper, slerp orientation). Semantics of `write`:

* Waypoints already due when the chunk arrives (``time < now``) are dropped — the robot has moved
  on while the chunk was being computed (latency compensation). If every waypoint is stale, the
  last one is kept and made due now, so a slow policy still moves the robot (as Diffusion Policy's
  real-robot runner does).
* The chunk overwrites the future part of the buffer. The present is preserved: the setpoint the
  buffer gave at ``now`` becomes an anchor waypoint at ``now`` (unless the chunk has a waypoint
  due exactly now), so switching chunks never makes the setpoint jump in time.
* Optionally the new waypoints are blended with what the old buffer said for the same instants
  (registry `BLENDS`: ``none``, ``crossfade`` over k steps, ``ensemble`` = ACT's temporal
  ensembling), which smooths the seam between chunks that disagree.
* After the last waypoint the buffer holds it for ``max_hold_s``; later it is *stale* and the
  safety filter brakes to a hold. Before the first write it is *empty*.

Thread-safe: the real-time runner writes from its inference thread while the control loop reads.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from devices.control import NoSetpoint, Setpoint, interpolate_pose, interpolate_pose_one
from devices.robot import Action

WAYPOINT_DIM = 8  # x, y, z, qw, qx, qy, qz, gripper
_EPS = 1e-9


@dataclass(frozen=True)
class BlendSettings:
    """How a new chunk meets the old one. ``name`` is a key of `BLENDS`."""

    name: str = "none"
    steps: int = 2  # crossfade: the first ``steps`` new waypoints fade in from the old plan
    decay: float = 0.01  # ensemble: weight exp(-decay·i) of the i-th prediction of an instant (ACT)

    def __post_init__(self) -> None:
        if self.name not in BLENDS:
            raise ValueError(f"unknown blend {self.name!r}; known: {', '.join(sorted(BLENDS))}")
        if self.steps < 1:
            raise ValueError(f"blend steps must be at least 1, got {self.steps}")
        if not (np.isfinite(self.decay) and self.decay >= 0):
            raise ValueError(f"ensemble decay must be >= 0, got {self.decay}")


BlendFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, BlendSettings], tuple[np.ndarray, np.ndarray]]
"""(old values (T, 8), old covers instant (T,), new values (T, 8), predictions so far (T,), settings)
→ (blended values, predictions merged). Rows the old plan does not cover must come back unchanged."""


def _no_blend(old, covered, new, counts, settings):
    return new, np.ones(len(new), int)


def _crossfade(old, covered, new, counts, settings):
    k = settings.steps
    w = np.minimum((np.arange(len(new)) + 1) / (k + 1), 1.0)  # weight of the new plan
    w = np.where(covered, w, 1.0)
    return interpolate_pose(np.where(covered[:, None], old, new), new, w), np.ones(len(new), int)


def _ensemble(old, covered, new, counts, settings):
    """Temporal ensembling, incrementally: the c-th prediction of an instant weighs exp(-decay·c)."""
    c = np.where(covered, counts, 0)
    m = settings.decay
    prior = c.astype(float) if m == 0 else (1 - np.exp(-m * c)) / (1 - np.exp(-m))
    w_new = np.exp(-m * c)
    frac = np.where(covered, w_new / (prior + w_new), 1.0)
    return interpolate_pose(np.where(covered[:, None], old, new), new, frac), c + 1


BLENDS: dict[str, BlendFn] = {"none": _no_blend, "crossfade": _crossfade, "ensemble": _ensemble}


@dataclass(frozen=True)
class WriteReport:
    """What a `write` did: waypoints kept, dropped as stale, and whether it kept only the last."""

    kept: int
    dropped: int
    all_stale: bool


class ActionBuffer:
    def __init__(self, max_hold_s: float = 0.3, blend: BlendSettings | None = None) -> None:
        if not (np.isfinite(max_hold_s) and max_hold_s >= 0):
            raise ValueError(f"max_hold_s must be >= 0, got {max_hold_s}")
        self.max_hold_s = float(max_hold_s)
        self.blend = blend or BlendSettings()
        self._lock = threading.Lock()
        self._set(np.zeros(0), np.zeros((0, WAYPOINT_DIM)), np.zeros(0, int))

    # -- writing ---------------------------------------------------------------------------------
    def clear(self) -> None:
        with self._lock:
            self._set(np.zeros(0), np.zeros((0, WAYPOINT_DIM)), np.zeros(0, int))

    def _set(self, times: np.ndarray, values: np.ndarray, counts: np.ndarray) -> None:
        self._times, self._values, self._counts = times, values, counts
        # Plain-float copies for the 100 Hz reader: numpy is slow one element at a time.
        self._times_list, self._values_list = times.tolist(), values.tolist()

    def write(self, times: np.ndarray, values: np.ndarray, now: float, current: Action | None = None) -> WriteReport:
        """Write a chunk of waypoints due at ``times`` (T,) with ``values`` (T, 8), arriving at ``now``.

        ``current`` (the command the robot is executing) anchors a chunk written into an empty or
        stale buffer, so the robot glides to the first waypoint instead of jumping to it.
        """
        times = np.asarray(times, dtype=float).reshape(-1)
        values = np.asarray(values, dtype=float)
        if values.ndim != 2 or values.shape[1] != WAYPOINT_DIM or len(values) != len(times) or len(times) == 0:
            raise ValueError(f"a chunk is T waypoints of {WAYPOINT_DIM} numbers with T times; "
                             f"got values {values.shape} and {times.shape} times")
        if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ValueError("chunk waypoint times must be finite and strictly increasing")
        fresh = times >= now - _EPS
        all_stale = not fresh.any()
        if all_stale:
            new_t, new_v = np.array([now]), values[-1:].copy()
        else:
            new_t, new_v = times[fresh], values[fresh].copy()
        kept = len(new_t)
        with self._lock:
            old_t, old_v, old_c = self._times, self._values, self._counts
            live = len(old_t) > 0 and now <= old_t[-1] + self.max_hold_s + _EPS  # old plan not stale
            if live:
                covered = new_t <= old_t[-1] + _EPS
                old_at = self._interpolate(old_t, old_v, new_t)
                counts_at = np.rint(np.interp(new_t, old_t, old_c)).astype(int)
                new_v, new_c = BLENDS[self.blend.name](old_at, covered, new_v, counts_at, self.blend)
            else:
                new_c = np.ones(len(new_t), int)
            if new_t[0] > now + _EPS:  # anchor the present: the old plan's setpoint, else the current command
                anchor = self._interpolate(old_t, old_v, np.array([now])) if live else (
                    None if current is None else current.as_vector()[None])
                if anchor is not None:
                    new_t = np.concatenate([[now], new_t])
                    new_v = np.concatenate([anchor, new_v])
                    new_c = np.concatenate([[1], new_c])
            self._set(new_t, new_v, new_c)
        return WriteReport(kept=kept, dropped=int((~fresh).sum()) - int(all_stale), all_stale=all_stale)

    # -- reading ---------------------------------------------------------------------------------
    def setpoint(self, now: float) -> Setpoint:
        """Where the hand should be at ``now``: interpolated waypoint, or why there is none."""
        with self._lock:
            t, v = self._times_list, self._values_list
        if not t:
            return NoSetpoint("empty")
        if now > t[-1] + self.max_hold_s + _EPS:
            return NoSetpoint("stale")
        i = bisect.bisect_right(t, now) - 1
        if i < 0:
            return Action.from_vector(np.array(v[0]))
        if i >= len(t) - 1:
            return Action.from_vector(np.array(v[-1]))
        s = (now - t[i]) / (t[i + 1] - t[i])
        return Action.from_vector(np.array(interpolate_pose_one(v[i], v[i + 1], s)))

    def remaining(self, now: float) -> int:
        """Waypoints due after ``now``."""
        with self._lock:
            return int(np.sum(self._times > now + _EPS))

    @property
    def last_time(self) -> float | None:
        with self._lock:
            return float(self._times[-1]) if len(self._times) else None

    def waypoints(self) -> tuple[np.ndarray, np.ndarray]:
        """A copy of (times, values), for views and tests."""
        with self._lock:
            return self._times.copy(), self._values.copy()

    @staticmethod
    def _interpolate(t: np.ndarray, v: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Values at instants ``at``; held constant before the first and after the last waypoint."""
        i = np.clip(np.searchsorted(t, at, side="right") - 1, 0, len(t) - 1)
        j = np.minimum(i + 1, len(t) - 1)
        span = t[j] - t[i]
        s = np.where(span > 0, np.clip((at - t[i]) / np.where(span > 0, span, 1.0), 0.0, 1.0), 0.0)
        return interpolate_pose(v[i], v[j], s)
