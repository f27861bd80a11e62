"""Glue between the recorder and the embedded MuJoCo station.

- `StationClock` (in `devices.sim.station_clock`, shared with the Gymnasium face): the station's
  simulated time as the recorder's clock.
- `StationEnd`: an episode ends a short tail after the task succeeds, or at its time limit.
- `RealTimeStation`: the station paced by a real clock (physics catches up with the clock before
  every read or command; frames are stamped with the real capture time), for live recording
  and for the recorder benchmark, where tick errors must be measured against real time. A lock
  serialises the physics between the recorder thread and the control thread.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from devices.camera import Camera, CameraInfo, Frame
from devices.robot import Action, Robot, RobotState
from recorder.clock import Clock

if TYPE_CHECKING:
    from devices.sim.station import SimStation


@dataclass
class StationEnd:
    """End ``tail_s`` after the task first succeeds (so the demo shows the settled result), or on timeout.

    ``end_on_task=False`` only reports the outcome (an episode that did not start from a reset: the
    task's clock and success belong to an earlier one, so they must not end it).
    """

    station: object
    tail_s: float = 1.0
    end_on_task: bool = True

    def begin(self) -> None:
        self._success_at: float | None = None

    def should_end(self, t: float) -> bool:
        if not self.end_on_task:
            return False
        status = self.station.status()
        if status.success and self._success_at is None:
            self._success_at = t
        if self._success_at is not None and t - self._success_at >= self.tail_s - 1e-9:
            return True
        return bool(status.timed_out)

    def outcome(self) -> tuple[bool | None, float | None]:
        status = self.station.status()
        return bool(status.success or self._success_at is not None), float(status.score)


def station_description(station: "SimStation") -> dict:
    """What an episode stores in its ``station`` attribute: robot, task, configuration, perturbations."""
    task = station.task
    return {
        "robot": station.name,
        "task": task.name,
        "time_limit_s": float(getattr(task, "time_limit_s", float("nan"))),
        "config": asdict(station.config),
        "perturbations": dict(station.perturbations),
        "features": {k: list(v) for k, v in station.features.items()},
    }


def station_camera_names(station: "SimStation") -> list[str]:
    """Cameras defined in the station's scene (what ``--cameras`` may name)."""
    import mujoco

    model = station.model
    return [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]


class RealTimeStation(Robot):
    """The station as a real-time robot: its physics follows ``clock`` (see module docstring)."""

    def __init__(self, station: "SimStation", clock: Clock) -> None:
        self.sim_station = station
        self.clock = clock
        self.name = station.name
        self._origin = clock.now()
        self.physics_cpu_s = 0.0  # thread CPU spent in physics and rendering (the benchmark subtracts it)
        self.cameras: dict[str, Camera] = {n: _RealTimeCamera(self, n) for n in station.cameras}
        # The recorder thread (states, frames) and a control thread (commands) share one MuJoCo model.
        self.lock = threading.RLock()

    @property
    def task(self):
        return self.sim_station.task

    @property
    def time(self) -> float:
        return self.sim_station.time

    def status(self):
        return self.sim_station.status()

    def catch_up(self) -> None:
        import time

        with self.lock:
            c0 = time.thread_time()
            lag = (self.clock.now() - self._origin) - self.sim_station.time
            if lag >= 1.0 / self.sim_station.config.physics_hz:
                self.sim_station.step(lag)
            self.physics_cpu_s += time.thread_time() - c0

    @property
    def features(self) -> dict[str, tuple[int, ...]]:
        return self.sim_station.features

    def connect(self) -> None:
        self.sim_station.connect()
        self._origin = self.clock.now() - self.sim_station.time

    def disconnect(self) -> None:
        self.sim_station.disconnect()

    @property
    def is_connected(self) -> bool:
        return self.sim_station.is_connected

    def get_state(self) -> RobotState:
        with self.lock:
            self.catch_up()
            return replace(self.sim_station.get_state(), time=self.clock.now())

    def send_action(self, action: Action) -> Action:
        with self.lock:
            self.catch_up()
            return self.sim_station.send_action(action)

    def hold(self) -> Action:
        with self.lock:
            self.catch_up()
            return self.sim_station.hold()

    def reset(self, seed: int | None = None) -> RobotState:
        import time

        with self.lock:
            c0 = time.thread_time()
            self.sim_station.reset(seed)
            self.physics_cpu_s += time.thread_time() - c0
            self._origin = self.clock.now()
            return replace(self.sim_station.get_state(), time=self.clock.now())

    @property
    def config(self):
        return self.sim_station.config

    def render(self, camera: str) -> Frame:
        import time

        with self.lock:
            self.catch_up()
            captured = self.clock.now()  # the physics state being rendered is the one at this time
            c0 = time.thread_time()
            image = self.sim_station.render(camera)
            self.physics_cpu_s += time.thread_time() - c0
            return Frame(image=image, timestamp=captured, index=0)


class _RealTimeCamera(Camera):
    def __init__(self, station: RealTimeStation, name: str) -> None:
        self._station = station
        self._name = name
        self._count = 0

    @property
    def info(self) -> CameraInfo:
        return self._station.sim_station.cameras[self._name].info

    def connect(self) -> None:
        self._station.sim_station.ensure_renderer()

    def disconnect(self) -> None:
        pass

    @property
    def is_connected(self) -> bool:
        return self._station.is_connected

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        frame = self._station.render(self._name)
        self._count += 1
        return Frame(frame.image, frame.timestamp, self._count)
