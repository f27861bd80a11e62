"""The recorder's end of the one path to the robot: what each tick's command becomes, and what is recorded.

Every product path records through `SafetyPath`: the command source's decision at a 10 Hz tick
becomes a target for the ≥100 Hz `devices.control.SafetyController`, and the sample stores the
command the controller *applied* — after the safety filter — at that tick. So a recorded action is
the command that actually reached the robot, whoever produced it, and teleop, scripted experts and
policies get the same limits and the same hold-on-loss.

Timing (10 Hz recorder, 100 Hz controller, both on one clock):

    recorder tick i at t_i:   sample i = (observation at t_i, command the controller applied at t_i)
                              then the source decides target_i, due at t_i + 1/rate
    control ticks t_i+10ms … t_i+100ms: setpoints interpolate from target_{i-1} to target_i
                              (a streaming source — a teleop device — is read at every control tick)

So ``action[i]`` is the command in force from ``time[i]``: waypoint *i* of a policy chunk is due at
the observation's own instant (Diffusion Policy's convention, `due_offset = 0` in the runtime).

Beside it each sample stores ``command[i]``: what the source asked the controller for at that same
instant, *before* the filter (a step source's target decided at tick i-1 and due at ``time[i]``, a
streaming device's latest target, an arbiter's choice). It is what a policy learns to output —
a policy takes the source's place upstream of the filter; learning the filtered setpoint instead
makes it command a lagging, twice-filtered trajectory (docs/policy.md, bench/README.md). Where no
source asked for anything (a hold) the command is the applied hold.
In simulated time the clock that steps the physics ticks the controller every 10 ms
(`devices.sim.station_clock.StationClock`); on a wall clock a `devices.control.ControlLoop` thread does.

Who ticks the controller is never this module's business. Two ways to use it:

* `SafetyPath(controller)` — the recorder's source drives the controller (expert, agent, teleop).
* `SafetyPath(controller, drive=False)` — someone else drives it (a policy runtime's
  `ControlArbiter` during a take-over); the path only reads what the controller applied.

`UnfilteredPath` sends each tick's command straight to ``robot.send_action`` and records what the
robot returned, with no safety filter on the way. It is never a default: a `RecordingSession` must
be given its path, and only tests of the recorder alone and `bench/recorder.py` (tick timing only)
ask for this one by name. `demostation record`, device recording, GUI recording and take-over
recording use `SafetyPath`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from devices.control import SafetyController, SetpointSource, StepTargetSource
from devices.robot import Action, Robot
from recorder.sources import HOLD_DEVICE, Command, CommandSource


@dataclass(frozen=True)
class Applied:
    """What a tick records: the command the robot executes from this tick on, who produced it, and
    what that source asked for at this instant before any filter (None: the same as ``action``)."""

    action: Action
    device: str
    command: Action | None = None


class CommandPath(Protocol):
    def begin_episode(self, source: CommandSource, reset: bool) -> None:
        """An episode starts (``reset``: the robot was just reset)."""

    def step(self, command: Command, now: float, period: float) -> Applied:
        """Record-and-command for the tick at ``now`` (clock seconds); ``period`` = 1 / recording rate."""

    def episode_report(self) -> dict:
        """What the episode's ``timing`` attribute gets from the path (intervention counts, rate)."""


class UnfilteredPath:
    """Each command straight to ``robot.send_action``, bypassing the safety filter: for tests of the
    recorder alone (see the module docstring)."""

    def __init__(self, robot: Robot) -> None:
        self.robot = robot

    def begin_episode(self, source: CommandSource, reset: bool) -> None:
        pass

    def step(self, command: Command, now: float, period: float) -> Applied:
        if command.action is None:
            return Applied(self.robot.hold(), HOLD_DEVICE)
        requested = command.action.normalized() if command.action.is_finite() else None
        return Applied(self.robot.send_action(command.action), command.device, requested)

    def episode_report(self) -> dict:
        return {}


class SafetyPath:
    """Through the safety controller (see the module docstring)."""

    def __init__(self, controller: SafetyController, drive: bool = True) -> None:
        self.controller = controller
        self.drive = drive
        self.step_target = StepTargetSource()
        self._streaming = False
        self._device = HOLD_DEVICE  # who produced the setpoints the controller follows now
        self._baseline: Counter = Counter()

    def begin_episode(self, source: CommandSource, reset: bool) -> None:
        if self.drive:
            streams = isinstance(source, SetpointSource)
            self._streaming = streams
            self.step_target.clear()
            self.controller.source = source if streams else self.step_target
            if reset or not self.controller.filter.is_ready:
                # After a robot reset the filter starts again from the robot's new pose, at rest.
                # Without one the arm may be moving: the filter keeps its state (no velocity jump).
                self.controller.reset()
            self._device = HOLD_DEVICE
        self._baseline = Counter(self.controller.interventions)

    def step(self, command: Command, now: float, period: float) -> Applied:
        ctrl = self.controller
        applied = ctrl.last_applied
        if applied is None:  # nobody ticked the controller yet: it holds where the robot is
            applied = ctrl.reset()
        requested = ctrl.last_target.normalized() if ctrl.last_target is not None else applied
        if not self.drive or self._streaming:
            # The controller reads its setpoints elsewhere (a teleop device at every control tick,
            # a take-over arbiter): this tick's command only names who is commanding now.
            self._device = command.device
            return Applied(applied, HOLD_DEVICE if ctrl.last_hold_reason else command.device, requested)
        # A step source's target reaches the robot over the next period: what is executed now was
        # produced by the previous tick's command.
        device = HOLD_DEVICE if ctrl.last_hold_reason else self._device
        if command.action is None or command.paused:
            self.step_target.clear()
            self._device = HOLD_DEVICE
        else:
            self.step_target.set(command.action, now, now + period, current=applied)
            self._device = command.device
        return Applied(applied, device, requested)

    def episode_report(self) -> dict:
        counts = Counter(self.controller.interventions)
        counts.subtract(self._baseline)
        return {"control_hz": self.controller.rate_hz,
                "safety_interventions": {k: int(v) for k, v in sorted(counts.items()) if v > 0}}
