"""Command sources: whatever decides the robot's next target at each tick (a device, an expert, a policy).

The recorder does not care who commands the robot: each tick it asks its `CommandSource` for a
`Command`, hands it down the path to the robot (`recorder.command_path`: through the safety controller),
and stores what the robot actually applied together with the name of the device that produced it.
So a scripted expert, a teleoperation device and a policy record identical episodes, and a source
that mixes several (an operator taking over from a policy) records which one produced every sample.

Two kinds of source: a *step* source decides a target once per tick (the expert, an agent, a
mailbox), which the controller reaches one period later; a *streaming* source also has
``setpoint(now)`` (a `devices.control.SetpointSource`) and is read by the controller at every
control tick (a teleop device, `recorder.teleop.TeleopSource`) — its per-tick `Command` only names
the device and says whether it is paused.

Sources registered by name in `SOURCES` can be built from the command line (``--device NAME[:ARG]``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from devices.robot import Action, Robot, RobotState

HOLD_DEVICE = "hold"  # the device name recorded when no source command was available


@dataclass(frozen=True)
class Command:
    """One tick's command: an action (None = hold the current pose) and the device that produced it.

    ``paused`` (a one-line reason) means the source cannot command now — its device is lost or
    failed: the robot holds and the recorder stores no sample until the source is back.
    """

    action: Action | None
    device: str
    paused: str = ""


class CommandSource(Protocol):
    name: str  # the episode's `device` attribute

    def begin_episode(self, robot: Robot, seed: int | None) -> None:
        """Called after the robot was reset and before the first tick of an episode."""
        ...

    def next_command(self, state: RobotState, t: float) -> Command:
        """The command for the tick at ``t`` seconds since the episode started."""
        ...

    def events(self) -> list[dict]:
        """Events of this episode so far: ``{kind, start, end, label}``, times in episode seconds."""
        ...


@dataclass
class ExpertSource:
    """A station task's scripted expert (privileged state) as a command source.

    Seeded like `policy.evaluation.ExpertAgent` (`devices.sim.experts.episode_expert`), so a
    recorded demonstration and an evaluation rollout with the same seed are the same trajectory.
    """

    noise: float = 0.0
    pause_prob: float = 0.0
    mistake_prob: float = 0.0
    rate_hz: float = 10.0  # the expert limits its speed per command, so it must know the tick rate
    name: str = "expert"

    def __post_init__(self) -> None:
        for label, p in (("pause probability", self.pause_prob), ("mistake probability", self.mistake_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"expert {label} must be in [0, 1], got {p}")
        if not self.noise >= 0.0:
            raise ValueError(f"expert noise must be >= 0 metres, got {self.noise}")
        self._expert: Any = None
        self._t0 = 0.0

    def begin_episode(self, robot: Robot, seed: int | None) -> None:
        from devices.sim.experts import ExpertKnobs, episode_expert

        # A robot that wraps the embedded station (e.g. `recorder.station.RealTimeStation`) exposes
        # it as `sim_station`; the expert reads privileged state from the station itself.
        station = getattr(robot, "sim_station", robot)
        task = getattr(station, "task", None)
        if task is None or not hasattr(task, "make_expert"):
            raise ValueError(f"the scripted expert needs the embedded station; {getattr(robot, 'name', robot)!r} "
                             "has no task")
        knobs = ExpertKnobs(noise=self.noise, pause_prob=self.pause_prob, mistake_prob=self.mistake_prob)
        self._expert = episode_expert(station, knobs, seed)
        self._expert.dt = 1.0 / self.rate_hz
        self._t0 = float(station.time)

    def next_command(self, state: RobotState, t: float) -> Command:
        return Command(self._expert.act(), self.name)

    def events(self) -> list[dict]:
        if self._expert is None:
            return []
        out = []
        for ev in self._expert.events:
            d = ev.as_dict()
            d["start"] = float(d["start"]) - self._t0
            d["end"] = float(d["end"]) - self._t0
            out.append(d)
        return out


@dataclass
class AgentSource:
    """A `policy.evaluation.Agent` (a trained policy, or the expert agent) as a command source."""

    agent: Any
    robot: Any = None
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or getattr(self.agent, "name", "policy")

    def begin_episode(self, robot: Robot, seed: int | None) -> None:
        self.robot = robot
        self.agent.reset(robot, 0 if seed is None else seed)

    def next_command(self, state: RobotState, t: float) -> Command:
        return Command(self.agent.act(self.robot), self.name)

    def events(self) -> list[dict]:
        return []


@dataclass
class MailboxSource:
    """The newest command posted by another thread (a teleop device loop, a GUI): thread-safe.

    Posting is cheap and can happen at any rate; each tick takes the newest command. A command
    older than ``max_age_s`` (the device stopped sending) becomes a hold, so a frozen device never
    leaves the robot chasing a stale target. ``now`` must be the session's clock.
    """

    name: str = "teleop"
    now: Callable[[], float] | None = None
    max_age_s: float = 0.5
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _latest: tuple[Action, str, float] | None = field(default=None, repr=False)
    _events: list[dict] = field(default_factory=list, repr=False)

    def post(self, action: Action, device: str | None = None) -> None:
        stamp = self.now() if self.now is not None else 0.0
        with self._lock:
            self._latest = (action, device or self.name, stamp)

    def begin_episode(self, robot: Robot, seed: int | None) -> None:
        with self._lock:
            self._events = []

    def next_command(self, state: RobotState, t: float) -> Command:
        with self._lock:
            latest = self._latest
        if latest is None:
            return Command(None, HOLD_DEVICE)
        action, device, stamp = latest
        if self.now is not None and self.now() - stamp > self.max_age_s:
            return Command(None, HOLD_DEVICE)
        return Command(action, device)

    def add_event(self, kind: str, start: float, end: float = float("nan"), label: str = "") -> None:
        with self._lock:
            self._events.append({"kind": kind, "start": float(start), "end": float(end), "label": label})

    def events(self) -> list[dict]:
        with self._lock:
            return list(self._events)


@dataclass(frozen=True)
class SourceOptions:
    """What the command line knows about a source: the expert's knobs, teleop device options."""

    rate_hz: float = 10.0
    expert_noise: float = 0.0
    expert_pause_prob: float = 0.0
    expert_mistake_prob: float = 0.0
    # Passed to `devices.teleop.make_device` (e.g. ``hid_api`` or ``store`` in tests, ``camera``).
    device_options: dict = field(default_factory=dict)


def _make_expert(spec: str, opts: SourceOptions) -> CommandSource:
    if spec != "expert":
        raise ValueError(f"the expert takes no argument, got {spec!r}")
    return ExpertSource(noise=opts.expert_noise, pause_prob=opts.expert_pause_prob,
                        mistake_prob=opts.expert_mistake_prob, rate_hz=opts.rate_hz)


def _make_teleop(spec: str, opts: SourceOptions) -> CommandSource:
    from recorder.teleop import TeleopSource

    return TeleopSource.from_spec(spec, **opts.device_options)


def _teleop_kinds() -> tuple[str, ...]:
    from devices.teleop.registry import DEVICE_KINDS

    return (*DEVICE_KINDS, "replay")


# By the spec's kind (the part before ':'): every teleop device kind and replay:FILE go to the
# teleop source, which asks `devices.teleop`'s own registry for the device.
SOURCES: dict[str, Callable[[str, SourceOptions], CommandSource]] = {
    "expert": _make_expert, **{kind: _make_teleop for kind in _teleop_kinds()}}


def make_source(spec: str, opts: SourceOptions) -> CommandSource:
    """The source named by ``spec`` (``expert``, ``spacemouse``, ``replay:FILE``, ...)."""
    kind = str(spec).partition(":")[0].strip().lower()
    try:
        factory = SOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown device {spec!r} for recording; known: {', '.join(sorted(SOURCES))} "
                         "(replay:FILE replays a recorded device stream)") from None
    return factory(spec, opts)
