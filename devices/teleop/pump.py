"""The glue from a teleop device to the one path to the robot: device → mapper → a target sink.

A ``TeleopPump`` runs in its own thread: it wakes on every device sample (or at ``rate_hz``, so a
held SpaceMouse deflection keeps moving the target), maps the command, and hands the result to a
*sink* — anything with ``push(action, stamp)`` and ``mark_lost()``, such as the low-level
controller's latest-target source, which runs it through the safety filter. A hold becomes
``mark_lost()`` (the controller holds the arm); record / stop / discard / mark-recovery presses go
to ``on_events``; the station's end-effector wrench, if given, is fed back to a haptic device.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Protocol

import numpy as np

from devices.robot import Action
from devices.teleop.command import TeleopCommand
from devices.teleop.device import TeleopDevice
from devices.teleop.mapper import TeleopMapper, TeleopTarget


class TargetSink(Protocol):
    def push(self, action: Action, stamp: float) -> None: ...
    def mark_lost(self) -> None: ...


class TeleopPump:
    def __init__(self, device: TeleopDevice, sink: TargetSink, *, robot_pose: Callable[[], np.ndarray],
                 mapper: TeleopMapper | None = None, on_events: Callable[[TeleopTarget], None] | None = None,
                 wrench: Callable[[], np.ndarray] | None = None, rate_hz: float = 200.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.device = device
        self.sink = sink
        self.mapper = mapper or TeleopMapper(device.settings.mapper)
        self._robot_pose = robot_pose
        self._on_events = on_events
        self._wrench = wrench
        self._period = 1.0 / rate_hz
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._map_lock = threading.Lock()  # the mapper is re-seeded from other threads (`reseed`)
        self.last: TeleopTarget | None = None
        self.error: str = ""

    def start(self) -> None:
        """Start mapping (the device must be connected); the first target is the robot's pose."""
        if self._thread is not None:
            return
        self.mapper.reset(np.asarray(self._robot_pose(), dtype=float))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"teleop-pump-{self.device.kind}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> "TeleopPump":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def step(self) -> TeleopTarget:
        """One device → mapper → sink pass (what the thread runs; callable directly in tests)."""
        return self.handle(self.device.read_command(), self._clock())

    def handle(self, command: TeleopCommand, now: float) -> TeleopTarget:
        """Map one command at time ``now`` (the pump's clock) and hand the result on.

        The thread calls it with the device's latest command; a replay in simulated time calls it
        with each replayed command at its own (episode-clock) time — the same mapping either way.
        """
        with self._map_lock:
            pose = np.asarray(self._robot_pose(), dtype=float) if self.mapper.needs_robot_pose else None
            out = self.mapper.update(command, robot_pose=pose, now=now)
        if out.hold:
            self.sink.mark_lost()
        else:
            self.sink.push(out.action, now)
        if out.events and self._on_events is not None:
            self._on_events(out)
        if self._wrench is not None:
            feed = getattr(self.device, "set_feedback_wrench", None)
            if feed is not None:
                feed(np.asarray(self._wrench(), dtype=float))
        self.last = out
        return out

    def reseed(self, pose: np.ndarray, gripper: float = 0.0) -> None:
        """Restart the target at ``pose`` (e.g. the command being executed when an operator takes
        over from a policy), so the device moves the arm on from there; safe while the thread runs."""
        with self._map_lock:
            self.mapper.reset(np.asarray(pose, dtype=float), gripper)

    def _run(self) -> None:
        seen = -1
        while not self._stop.is_set():
            self.device.wait_for_sample(seen, self._period)
            latest = self.device.read_latest()
            seen = latest.seq if latest is not None else seen
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - never leave the arm following a dead pump: hold, say why
                self.sink.mark_lost()
                self.error = f"teleop stopped: {type(exc).__name__}: {exc}"
                return
