"""A teleoperation device as the recorder's command source (``--device spacemouse``, ``replay:FILE``, ...).

The device comes from `devices.teleop`'s registry (``make_device``) and its commands go through
the same `TeleopPump.handle` → `TeleopMapper` → latest-target path whatever the clock:

* **live** (a device on this machine): the device's reader thread and a `TeleopPump` thread push
  targets into a `LatestTargetSource` on the wall clock; the safety controller, ticked by its own
  `ControlLoop` thread, reads it at every control tick.
* **replay in simulated time** (``replay:FILE``): no threads. The controller, ticked by the
  station's clock every 10 ms, calls `setpoint(now)`, which feeds every replayed command recorded
  up to ``now`` through the same pump at its own time. The recorded device times are mapped onto
  the episode clock: the stream's first event happens when the first episode starts.

The source is *streaming* (it has ``setpoint``), so each recorder tick's `Command` only names the
device and, while the device is lost or failed, carries the device's one-line message as
``paused``: the robot holds (the mapper holds, the target source reports ``source_lost``) and the
recorder pauses until the device is back. Button presses (record / stop / discard / mark-recovery)
go to ``on_button``, e.g. a `recorder.buttons.SessionButtons`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Iterator

import numpy as np

from devices.control import LatestTargetSource, Setpoint
from devices.robot import Action, Robot, RobotState
from devices.teleop import (
    ButtonAction,
    DeviceError,
    DeviceStatus,
    DeviceUnavailable,
    MalformedInput,
    TeleopCommand,
    TeleopDevice,
    make_device,
)
from devices.teleop.mapper import TeleopTarget
from devices.teleop.pump import TeleopPump
from devices.teleop.settings import SettingsStore
from recorder.sources import Command

REPLAY = "replay"


class TeleopSource:
    """See the module docstring. Build it with `from_spec`; `open` it before recording."""

    def __init__(self, device: TeleopDevice, *, live: bool, clock: Callable[[], float] = time.monotonic,
                 headless: bool = True) -> None:
        self.device = device
        self.live = live
        self.headless = headless  # no application window feeds the device (the command line)
        self.realtime = live  # a live device needs the wall clock; a replay runs in simulated time
        self.name = device.kind
        self.target = LatestTargetSource()
        self.on_button: Callable[[ButtonAction], None] | None = None
        self._clock = clock
        self._now = 0.0  # simulated time of the replay (its device clock)
        self._robot: Robot | None = None
        self._pump: TeleopPump | None = None
        self._commands: Iterator[TeleopCommand] | None = None
        self._pending: TeleopCommand | None = None
        self._last: TeleopCommand | None = None
        self.finished = False  # a replay has nothing more to give
        self.problem = ""  # why a replay stopped early (one line), "" if it ended normally

    @classmethod
    def from_spec(cls, spec: str, clock: Callable[[], float] | None = None, headless: bool = True,
                  **options: Any) -> "TeleopSource":
        """``spacemouse``, ``openxr:left``, ``replay:FILE``, ...; ``options`` go to ``make_device``.

        ``headless=False`` when an application window feeds the device (the GUI's keyboard). The
        device's settings (mapping, per-axis flips, buttons) come from the user's settings file
        unless ``store`` or ``settings`` is given."""
        if "settings" not in options:
            options.setdefault("store", SettingsStore())
        if spec.partition(":")[0].strip().lower() == REPLAY:
            holder: list[TeleopSource] = []
            device = make_device(spec, realtime=False, clock=lambda: holder[0]._now, **options)
            source = cls(device, live=False)
            holder.append(source)
            return source
        wall = clock or time.monotonic
        return cls(make_device(spec, clock=wall, **options), live=True, clock=wall, headless=headless)

    # -- life cycle ----------------------------------------------------------------------------------
    def open(self, robot: Robot, clock: Callable[[], float] | None = None) -> None:
        """Connect the device (live: start the pump) — ``DeviceUnavailable`` in one line if it is not there.

        ``clock`` is the control loop's clock (live: the wall clock the controller ticks on).
        """
        self._robot = robot
        if not self.live or self._pump is not None:
            return
        if clock is not None:
            self._clock = clock
        if self.headless and self.device.transport.window_input:
            raise DeviceUnavailable(f"the {self.device.name} device reads the keys of the Demo Station window: "
                                    "record with it from `demostation gui`, or replay a recorded stream with "
                                    "--device replay:FILE")
        self.device.connect()
        self._pump = TeleopPump(self.device, self.target, robot_pose=self._robot_pose, on_events=self._buttons,
                                wrench=self._wrench if hasattr(self.device, "set_feedback_wrench") else None,
                                clock=self._clock)
        self._pump.start()

    def close(self) -> None:
        if self._pump is not None:
            self._pump.stop()
            self._pump = None
        if self.device.is_connected:
            self.device.disconnect()
        self._commands = None

    def __enter__(self) -> "TeleopSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- CommandSource ---------------------------------------------------------------------------------
    def begin_episode(self, robot: Robot, seed: int | None) -> None:
        self._robot = robot
        if self.live:
            self.open(robot)
            if seed is not None and self._pump is not None:  # the robot was reset: start from its pose
                self._pump.reseed(self._robot_pose())
            return
        if self._commands is None or seed is not None:  # first episode, or the robot was reset
            self._mapper_pump().reseed(self._robot_pose())

    def next_command(self, state: RobotState, t: float) -> Command:
        return Command(None, self.name, paused=self.paused_reason())

    def events(self) -> list[dict]:
        return []

    def paused_reason(self) -> str:
        """The device's one-line message while it cannot command (lost, failed), else ""."""
        if self.live:
            if self._pump is not None and self._pump.error:
                return self._pump.error
            if self.device.status is not DeviceStatus.OK:
                return self.device.message or f"{self.device.name} is {self.device.status.value}"
            return ""
        if self.problem:
            return self.problem
        last = self._last
        if last is not None and last.status is not DeviceStatus.OK:
            return last.message or f"{self.device.name} is {last.status.value}"
        return ""

    def engage(self, current: Action, now: float) -> None:
        """Take over from the command being executed (`policy.runtime.takeover.ControlArbiter`):
        the device moves the arm on from there, never from a stale target."""
        pump = self._pump if self.live else self._mapper_pump()
        if pump is not None:
            pump.reseed(current.ee_pose, current.gripper)
        self.target.engage(current, now)

    # -- SetpointSource (read by the controller at every control tick) --------------------------------
    def setpoint(self, now: float) -> Setpoint:
        if not self.live:
            self._advance(now)
        return self.target.setpoint(now)

    # -- replay in simulated time ---------------------------------------------------------------------
    def _mapper_pump(self) -> TeleopPump:
        if self._pump is None:
            self._pump = TeleopPump(self.device, self.target, robot_pose=self._robot_pose, on_events=self._buttons,
                                    clock=lambda: self._now)
        return self._pump

    def _advance(self, now: float) -> None:
        """Feed every replayed command due by ``now`` through the pump, then integrate up to ``now``."""
        pump = self._mapper_pump()
        self._now = now
        if self._commands is None and not self.finished:
            self._commands = self.device.run_offline()  # opens the stream: its clock starts now
        while not self.finished:
            if self._pending is None:
                try:
                    self._pending = next(self._commands)
                except StopIteration:
                    self.finished = True
                    break
                except (MalformedInput, DeviceError, OSError) as exc:  # a corrupt stream: stop with its line
                    self.finished = True
                    self.problem = " ".join(str(exc).split()) or type(exc).__name__
                    self.target.mark_lost()
                    return
            if self._pending.time > now + 1e-9:
                break
            command, self._pending = self._pending, None
            pump.handle(command, command.time)
            self._last = command
        if self._last is not None and not self.finished:
            # Between device reports the live pump keeps mapping the latest state (a held deflection
            # keeps moving the target); do the same up to now, without repeating button presses.
            pump.handle(dataclasses.replace(self._last, pressed=()), now)
        elif self.finished and not self.problem:
            self.target.clear()  # the stream is over: nothing commands the robot any more (it holds)

    # -- shared helpers -----------------------------------------------------------------------------------
    def _robot_pose(self) -> np.ndarray:
        if self._robot is None:
            raise RuntimeError("the teleop source needs the robot: call open(robot) first")
        return np.asarray(self._robot.get_state().ee_pose, dtype=float)

    def _wrench(self) -> np.ndarray:
        return np.asarray(self._robot.get_state().ee_wrench, dtype=float)

    def _buttons(self, out: TeleopTarget) -> None:
        handler = self.on_button
        if handler is None:
            return
        for action in out.events:
            handler(action)
