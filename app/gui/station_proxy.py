"""The live station seen from other threads: a `Robot`, its `Camera`s and a command source.

A recording session (or a policy runner) ticks on its own thread; the station belongs to the
`StationWorker` thread. These adapters turn every robot, camera and agent call into
`StationWorker.call`, so the recorder drives the live station through exactly the interfaces it
uses for a real arm, and MuJoCo is only ever touched by its own thread.

Times are on ``now`` (the recording session's clock, `time.monotonic` by default): robot states and
camera frames are stamped when the station thread takes them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from typing import Callable

from app.gui.station_worker import StationWorker
from devices.camera import Camera, CameraInfo, Frame
from devices.robot import Action, Robot, RobotState
from recorder.sources import Command


class StationRobot(Robot):
    name = "sim"

    def __init__(self, worker: StationWorker, now: Callable[[], float] = time.monotonic) -> None:
        self.worker = worker
        self.now = now
        self._features: dict[str, tuple[int, ...]] | None = None

    @property
    def features(self) -> dict[str, tuple[int, ...]]:
        if self._features is None:
            self._features = dict(self.worker.call(lambda s: s.features))
        return self._features

    def connect(self) -> None:
        self.worker.call(lambda s: None)  # raises StationUnavailable when the station is down

    def disconnect(self) -> None:
        """The station worker owns the connection; a recording session ending does not close it."""

    @property
    def is_connected(self) -> bool:
        return self.worker.is_alive

    def get_state(self) -> RobotState:
        now = self.now
        return self.worker.call(lambda s: replace(s.get_state(), time=now()))

    def send_action(self, action: Action) -> Action:
        return self.worker.call(lambda s: s.send_action(action))

    def hold(self) -> Action:
        return self.worker.call(lambda s: s.hold())

    def reset(self, seed: int | None = None) -> RobotState:
        now, worker = self.now, self.worker

        def do(s):
            worker.do_reset(s, seed)
            return replace(s.get_state(), time=now())

        return self.worker.call(do, timeout=30.0)

    # What `recorder.station.StationEnd` and `station_description` read.
    def status(self):
        return self.worker.call(lambda s: s.status())

    @property
    def time(self) -> float:
        return self.worker.call(lambda s: s.time)

    def description(self) -> dict:
        def describe(s) -> dict:
            return {"robot": s.name, "task": getattr(s.task, "name", ""),
                    "time_limit_s": float(getattr(s.task, "time_limit_s", float("nan"))),
                    "config": asdict(s.config), "perturbations": dict(s.perturbations),
                    "features": {k: list(v) for k, v in s.features.items()}}

        return self.worker.call(describe)


class LiveStationCamera(Camera):
    """One station camera at the recorded size, rendered on the station thread when read."""

    def __init__(self, worker: StationWorker, name: str, now: Callable[[], float] = time.monotonic) -> None:
        self.worker = worker
        self.name = name
        self.now = now
        self._info: CameraInfo | None = None
        self._count = 0

    @property
    def info(self) -> CameraInfo:
        if self._info is None:
            self._info = self.worker.call(lambda s: s.cameras[self.name].info)
        return self._info

    def connect(self) -> None:
        self.worker.call(lambda s: s.ensure_renderer())

    def disconnect(self) -> None:
        pass

    @property
    def is_connected(self) -> bool:
        return self.worker.is_alive

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        now, name = self.now, self.name

        def grab(s):
            image = s.render(name)
            return image, now()

        image, stamp = self.worker.call(grab)
        self._count += 1
        return Frame(image=image, timestamp=stamp, index=self._count)


def station_cameras(worker: StationWorker, now: Callable[[], float] = time.monotonic) -> dict[str, Camera]:
    return {name: LiveStationCamera(worker, name, now) for name in worker.camera_names}


class StationPath:
    """The recorder's path to the robot through the station's own safety controller.

    `recorder.command_path.SafetyPath` is the product path (each 10 Hz decision becomes a target the
    100 Hz controller executes; the sample stores what the controller applied). The controller is
    ticked on the station thread, so every call of the path runs there too.
    """

    def __init__(self, worker: StationWorker) -> None:
        self.worker = worker
        self._path = None

    def _inner(self):
        if self._path is None:
            from recorder.command_path import SafetyPath

            self._path = SafetyPath(self.worker.controller)
        return self._path

    def begin_episode(self, source, reset: bool) -> None:
        self.worker.call(lambda s: self._inner().begin_episode(source, reset))

    def step(self, command, now: float, period: float):
        return self.worker.call(lambda s: self._inner().step(command, now, period))

    def episode_report(self) -> dict:
        return self.worker.call(lambda s: self._inner().episode_report())


class LiveAgentSource:
    """The recorder's command source: whichever agent drives the live station at each tick.

    The agent decides on the station thread (the path then hands the decision to the controller);
    when the operator hands control to another device mid-episode, the next samples are recorded
    under the new name.
    """

    def __init__(self, worker: StationWorker) -> None:
        self.worker = worker
        self.name = worker.agent_name
        self._t0 = 0.0

    def begin_episode(self, robot: Robot, seed: int | None) -> None:
        worker = self.worker

        def begin(s) -> float:
            agent = worker.agent
            if agent is not None:
                agent.reset(s, worker.seed if seed is None else int(seed))
            return float(s.time)

        self._t0 = worker.call(begin)
        self.name = worker.agent_name

    def next_command(self, state: RobotState, t: float):
        worker = self.worker

        def decide(s):
            agent = worker.agent
            return Command(worker.decide(s, agent), agent.name if agent is not None else "hold")

        return worker.call(decide)

    def events(self) -> list[dict]:
        """Events the agent logged (the scripted expert's pauses and mistakes), in episode seconds."""
        worker, t0 = self.worker, self._t0

        def collect(s) -> list[dict]:
            agent = worker.agent
            get = getattr(agent, "events", None)
            return [dict(e, start=e["start"] - t0, end=e["end"] - t0) for e in get()] if get else []

        return worker.call(collect)
