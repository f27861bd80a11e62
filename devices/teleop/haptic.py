"""Haptic stylus teleoperation: 6-DoF pose and buttons in, the station's contact wrench out as force.

The stylus is read and driven by one servo loop: a thread with absolute deadlines (default
1 kHz; haptic rendering feels soft or buzzes below ~500 Hz) that each tick renders the force,
exchanges it with the device for the current pose and buttons, and publishes the sample. The force
is the end-effector wrench the station measures (contact force on the hand, base frame), rotated
into the device's frame, scaled, low-pass filtered (the wrench arrives at control rate, a step at
every tick would buzz), clamped to the device's limit, and faded to zero when no fresh wrench
arrives — so a stalled robot link never leaves a force on the operator's hand.

That fade runs in the servo loop, which is Python; if the loop itself stalls (a long GC pause, a
blocked SDK call, a hung thread), the last force would stay on the hand. So a watchdog outside the
loop checks the age of the last force command: the backend's own servo side (the Force Dimension
controller's hardware watchdog, an OpenHaptics scheduler callback in the SDK's servo thread) and,
for every backend, a watchdog thread in ``HapticTransport`` that calls ``backend.zero_force()``
once the loop has not exchanged for ``watchdog_s``.

The SDKs (OpenHaptics for the 3D Systems Touch, the DHD library for Force Dimension devices) sit
behind ``HapticBackend`` in ``haptic_backends.py``, loaded only when their libraries exist.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.teleop.command import ButtonAction, DeviceSample, MotionMode, RawEvent
from devices.teleop.device import CommandParts, TeleopDevice, Transport
from devices.teleop.errors import MalformedInput
from devices.teleop.frames import check_rotation, transform_to_operator_pose
from devices.teleop.settings import ClutchMode, DeviceSettings, MapperSettings


@dataclass(frozen=True)
class HapticState:
    """One servo tick's reading: the stylus transform in the device's native frame (4x4, metres)
    and the button bitmask (bit 0 = button 1)."""

    matrix: np.ndarray
    buttons: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"matrix": [float(v) for v in np.asarray(self.matrix, dtype=float).reshape(16)],
                "buttons": int(self.buttons)}

    @classmethod
    def from_json(cls, d: Any) -> "HapticState":
        if not isinstance(d, dict) or "matrix" not in d:
            raise MalformedInput("a haptic state needs a 'matrix'")
        m = np.asarray(d["matrix"], dtype=float)
        if m.size != 16:
            raise MalformedInput(f"a haptic matrix has 16 numbers, got {m.size}")
        buttons = d.get("buttons", 0)
        if isinstance(buttons, bool) or not isinstance(buttons, int):
            raise MalformedInput(f"haptic buttons must be an integer bitmask, got {buttons!r}")
        return cls(matrix=m.reshape(4, 4), buttons=buttons)


@dataclass(frozen=True)
class HapticInfo:
    model: str  # e.g. "Touch", "omega.6"
    max_force: float  # N the device can render continuously
    output_dof: int = 3  # 3: forces only; 6: forces and torques


class HapticBackend(ABC):
    """The SDK edge of a haptic device (or a test's stand-in)."""

    name: str = ""
    operator_from_native: np.ndarray = np.eye(3)

    @abstractmethod
    def open(self) -> HapticInfo:
        """Initialise the device and enable force output; ``DeviceUnavailable`` if it cannot."""

    @abstractmethod
    def exchange(self, force: np.ndarray, torque: np.ndarray) -> HapticState:
        """One servo step: command ``force`` (N) and ``torque`` (N·m) in the native frame, read the state.
        Raise ``DeviceLost`` when the device stops answering."""

    @abstractmethod
    def close(self) -> None:
        """Zero the force and release the device."""

    @abstractmethod
    def zero_force(self) -> None:
        """Command zero force now, from a thread other than the servo loop (the watchdog's)."""

    watchdog_s: float = 0.05  # set before ``open`` (HapticOptions.watchdog_s): for the SDK-side watchdog


@dataclass(frozen=True)
class HapticOptions:
    """Force feedback settings (persisted with the device model's settings).

    ``force_scale``: device newtons per newton at the robot's hand. ``max_force``: never exceed this
    (the device's own continuous limit applies too). ``wrench_timeout``: a wrench older than this
    fades to zero. ``smoothing_hz``: low-pass cut-off. ``loop_hz``: servo rate. ``watchdog_s``:
    a servo loop silent this long has its force zeroed from outside the loop.
    """

    force_scale: float = 0.1
    max_force: float = 3.0
    torque_scale: float = 0.0
    max_torque: float = 0.0
    wrench_timeout: float = 0.2
    smoothing_hz: float = 30.0
    loop_hz: float = 1000.0
    watchdog_s: float = 0.05

    def __post_init__(self) -> None:
        if not (math.isfinite(self.watchdog_s) and 0.002 <= self.watchdog_s <= 1.0):
            raise ValueError(f"haptic watchdog_s must be in [0.002, 1] s, got {self.watchdog_s}")
        for name in ("force_scale", "max_force", "torque_scale", "max_torque", "wrench_timeout"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"haptic {name} must be a non-negative number, got {v}")
        if not (math.isfinite(self.smoothing_hz) and self.smoothing_hz > 0):
            raise ValueError(f"haptic smoothing_hz must be positive, got {self.smoothing_hz}")
        if not (math.isfinite(self.loop_hz) and 100.0 <= self.loop_hz <= 10000.0):
            raise ValueError(f"haptic loop_hz must be in [100, 10000], got {self.loop_hz}")


class ForceRenderer:
    """Turns the latest end-effector wrench into the force (and torque) the device renders now.

    The rotation into the device frame and the scaling happen when a wrench arrives (control rate);
    ``compute`` runs every servo tick and is plain scalar arithmetic, cheap enough for 1 kHz in Python.
    """

    def __init__(self, options: HapticOptions, *, device_limit: float, base_from_operator: np.ndarray,
                 operator_from_native: np.ndarray, render_torque: bool = False) -> None:
        self.options = options
        self.force_limit = min(options.max_force, device_limit)
        self._native_from_base = (check_rotation(base_from_operator) @ check_rotation(operator_from_native,
                                                                                    "operator_from_native")).T
        self._render_torque = render_torque
        self._target: tuple[tuple[float, ...], float] | None = None  # (native fx..tz, time), swapped whole
        self._out = [0.0] * 6
        self._last: float | None = None

    def set_wrench(self, wrench: np.ndarray, t: float) -> None:
        """The newest measured wrench (base frame, force on the hand). Non-finite values are ignored."""
        w = np.asarray(wrench, dtype=float).reshape(6)
        if not np.all(np.isfinite(w)):
            return
        o = self.options
        force = self._native_from_base @ w[:3] * o.force_scale
        torque = self._native_from_base @ w[3:] * o.torque_scale if self._render_torque else np.zeros(3)
        self._target = (tuple(force.tolist()) + tuple(torque.tolist()), float(t))  # one reference swap

    def compute(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        o = self.options
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        latest = self._target
        target = latest[0] if latest is not None and now - latest[1] <= o.wrench_timeout else (0.0,) * 6
        alpha = 1.0 - math.exp(-2.0 * math.pi * o.smoothing_hz * dt) if dt > 0 else 0.0
        out = self._out
        for k in range(6):
            out[k] += alpha * (target[k] - out[k])
        return _clamped(out[:3], self.force_limit), _clamped(out[3:], o.max_torque)


def _clamped(v: list[float], limit: float) -> np.ndarray:
    n = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    k = limit / n if n > limit else 1.0
    return np.array([v[0] * k, v[1] * k, v[2] * k])


@dataclass(frozen=True)
class LoopStats:
    ticks: int
    seconds: float
    overruns: int  # stalls longer than MAX_CATCH_UP periods (the loop then skipped ahead)
    max_period: float  # longest time between two device exchanges
    watchdog_trips: int = 0  # times the watchdog zeroed the force because the loop stalled

    @property
    def rate_hz(self) -> float:
        return self.ticks / self.seconds if self.seconds > 0 else 0.0


class HapticTransport(Transport):
    """The servo loop's edge: each ``read`` waits for the next absolute deadline, then exchanges the
    rendered force for the device state. Deadlines are absolute (``t0 + k * period``), so a late
    tick does not push every later tick back: a loop preempted for a few periods catches up by running
    its missed ticks at once (the rate holds on a busy machine); after a longer stall (more than
    ``MAX_CATCH_UP`` periods) it skips ahead instead of bursting."""

    MAX_CATCH_UP = 20  # periods: a tick this late or later skips ahead instead of catching up

    def __init__(self, backend: HapticBackend, clock=time.monotonic) -> None:
        self.backend = backend
        self._clock = clock
        self.options = HapticOptions()
        self._base_from_operator = np.eye(3)
        self.renderer: ForceRenderer | None = None
        self.info: HapticInfo | None = None
        self._lock = threading.Lock()
        self._reset_stats()

    def configure(self, options: HapticOptions, base_from_operator: np.ndarray) -> None:
        self.options = options
        self._base_from_operator = np.asarray(base_from_operator, dtype=float)

    def _reset_stats(self) -> None:
        self._period = 1.0 / self.options.loop_hz
        self._next = 0.0
        self._ticks = 0
        self._overruns = 0
        self._t0: float | None = None
        self._last_exchange: float | None = None
        self._max_period = 0.0

    def open(self) -> None:
        self.backend.watchdog_s = self.options.watchdog_s
        self.info = self.backend.open()
        self.renderer = ForceRenderer(self.options, device_limit=self.info.max_force,
                                      base_from_operator=self._base_from_operator,
                                      operator_from_native=self.backend.operator_from_native,
                                      render_torque=self.info.output_dof >= 6)
        self._reset_stats()
        self._next = self._clock()
        self._start_watchdog()

    def close(self) -> None:
        self._stop_watchdog()
        self.backend.close()

    # -- the watchdog: a thread of its own, so a stalled servo loop cannot stall it --------------
    def _start_watchdog(self) -> None:
        self._watchdog_stop = threading.Event()
        self._watchdog_trips = 0
        self._watchdog = threading.Thread(target=self._watch, args=(self._watchdog_stop,),
                                          name="haptic-watchdog", daemon=True)
        self._watchdog.start()

    def _stop_watchdog(self) -> None:
        stop = getattr(self, "_watchdog_stop", None)
        if stop is not None:
            stop.set()

    def _watch(self, stop: threading.Event) -> None:
        limit = self.options.watchdog_s
        armed = True
        opened = self._clock()
        while not stop.wait(limit / 4):
            with self._lock:
                last = self._last_exchange if self._last_exchange is not None else opened
            stale = self._clock() - last > limit
            if stale and armed:
                with contextlib.suppress(Exception):  # a dead device renders no force anyway; keep watching
                    self.backend.zero_force()
                with self._lock:
                    self._watchdog_trips += 1
                armed = False  # once per stall; re-armed by the next exchange
            elif not stale:
                armed = True

    @property
    def watchdog_tripped(self) -> bool:
        """True while the servo loop is stalled past ``watchdog_s`` (the force has been zeroed)."""
        with self._lock:
            last = self._last_exchange
        return last is not None and self._clock() - last > self.options.watchdog_s

    def read(self, timeout: float) -> RawEvent | None:
        now = self._clock()
        if now < self._next:
            time.sleep(self._next - now)
        t = self._clock()
        self._next += self._period
        if t - self._next > self.MAX_CATCH_UP * self._period:  # stalled: skip the missed deadlines
            self._overruns += 1
            self._next = t + self._period
        assert self.renderer is not None
        force, torque = self.renderer.compute(t)
        state = self.backend.exchange(force, torque)
        with self._lock:
            if self._t0 is None:
                self._t0 = t
            if self._last_exchange is not None:
                self._max_period = max(self._max_period, t - self._last_exchange)
            self._last_exchange = t
            self._ticks += 1
        return RawEvent(t, "haptic", state)

    def stats(self) -> LoopStats:
        with self._lock:
            seconds = 0.0 if self._t0 is None or self._last_exchange is None else self._last_exchange - self._t0
            return LoopStats(ticks=max(0, self._ticks - 1), seconds=seconds, overruns=self._overruns,
                             max_period=self._max_period, watchdog_trips=getattr(self, "_watchdog_trips", 0))

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend.name,
                "operator_from_native": np.asarray(self.backend.operator_from_native, dtype=float).tolist()}


_BUTTON_SETS = {mask: frozenset(f"button{i + 1}" for i in range(4) if mask >> i & 1) for mask in range(16)}


class HapticStylusDevice(TeleopDevice):
    """A haptic stylus as an absolute device: hold button 1 to move (clutch), button 2 toggles the
    gripper; ``set_feedback_wrench`` feeds the station's end-effector wrench back as force."""

    kind = "haptic"
    mode = MotionMode.ABSOLUTE

    def __init__(self, transport: Transport, **kwargs: Any) -> None:
        super().__init__(transport, read_timeout=0.01, **kwargs)
        params = transport.describe()
        self._backend_name = str(params.get("backend", "haptic"))
        self._operator_from_native = check_rotation(params.get("operator_from_native", np.eye(3)),
                                                    "operator_from_native")

    @property
    def name(self) -> str:
        info = getattr(self._transport, "info", None)
        model = f" {info.model}" if info is not None else ""
        return f"haptic stylus ({self._backend_name}{model})"

    @property
    def model(self) -> str:
        return f"haptic/{self._backend_name}"

    def default_settings(self) -> DeviceSettings:
        return DeviceSettings(
            mapper=MapperSettings(translation_scale=3.0, rotation_scale=1.0, deadzone=0.0005, clutch=ClutchMode.HOLD),
            buttons={"button1": ButtonAction.CLUTCH, "button2": ButtonAction.GRIPPER_TOGGLE},
            options=HapticOptions())

    def connect(self) -> None:
        if isinstance(self._transport, HapticTransport) and not self.is_connected:
            settings = self._resolve_settings()
            self._transport.configure(settings.options or HapticOptions(), settings.mapper.rotation)
        super().connect()

    def set_feedback_wrench(self, wrench: np.ndarray, t: float | None = None) -> None:
        """The station's end-effector wrench (base frame) to render; call it every control tick."""
        renderer = getattr(self._transport, "renderer", None)
        if renderer is not None:
            renderer.set_wrench(wrench, self._clock() if t is None else t)

    def _notice(self) -> str:
        if isinstance(self._transport, HapticTransport) and self._transport.watchdog_tripped:
            return (f"{self.name}: servo loop stalled over {self._transport.options.watchdog_s * 1000:.0f} ms; "
                    "the watchdog zeroed the force")
        return ""

    def loop_stats(self) -> LoopStats | None:
        """Servo-loop timing (ticks, rate, overruns) of a live device; None for a replay."""
        return self._transport.stats() if isinstance(self._transport, HapticTransport) else None

    def _parse(self, event: RawEvent) -> DeviceSample | None:
        if event.kind != "haptic" or not isinstance(event.data, HapticState):
            raise MalformedInput(f"a haptic stylus reads haptic states, got {event.kind!r}")
        pose = transform_to_operator_pose(self._operator_from_native, event.data.matrix)
        mask = int(event.data.buttons)
        buttons = _BUTTON_SETS.get(mask) or frozenset(f"button{i + 1}" for i in range(32) if mask >> i & 1)
        return DeviceSample(time=event.time, seq=0, pose=pose, buttons=buttons)

    def _interpret(self, sample: DeviceSample) -> CommandParts:
        return CommandParts(pose=sample.pose)
