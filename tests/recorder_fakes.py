"""Test doubles for the recorder: a robot, cameras with their own frame rates, a scripted source, a small disk.

They stand at the outermost edge only: the recorder's real clock, sync, writer, journal and
reader code all run unchanged on them. Everything here is deterministic in the clock's time, so a
test can compute what each stored sample must be.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import numpy as np

from devices.camera import Camera, CameraInfo, Frame
from devices.connection import NothingToOpen
from devices.robot import Action, Robot, RobotState
from recorder.sources import Command

X_LIMIT = 0.5  # the fake robot clips x to this (so "applied" differs from "commanded")


class FakeRobot(NothingToOpen, Robot):
    """A robot whose pose follows the last applied target; ``slow_ticks`` make `send_action` take time."""

    name = "fake-arm"

    def __init__(self, clock, joint_pos: bool = False, slow_ticks: dict[int, float] | None = None) -> None:
        self.clock = clock
        self._joint = joint_pos
        self._target = Action(np.array([0.3, 0.0, 0.2, 1, 0, 0, 0]), 0.0)
        self.sent: list[Action] = []
        self.slow_ticks = dict(slow_ticks or {})

    @property
    def features(self) -> dict[str, tuple[int, ...]]:
        f = {"ee_pose": (7,), "gripper": (1,), "ee_wrench": (6,)}
        if self._joint:
            f["joint_pos"] = (2,)
        return f

    def get_state(self) -> RobotState:
        t = self.clock.now()
        wrench = np.array([t, 0, 0, 0, 0, 0.0])
        return RobotState(time=t, ee_pose=self._target.ee_pose.copy(), gripper=self._target.gripper, ee_wrench=wrench,
                          joint_pos=np.array([t, -t]) if self._joint else None)

    def send_action(self, action: Action) -> Action:
        pose = action.ee_pose.copy()
        pose[0] = min(pose[0], X_LIMIT)
        self._target = Action(pose, min(max(action.gripper, 0.0), 1.0))
        self.sent.append(action)
        work = self.slow_ticks.pop(len(self.sent) - 1, 0.0)
        if work and hasattr(self.clock, "advance"):
            self.clock.advance(work)
        return self._target

    def hold(self) -> Action:
        return self._target

    def reset(self, seed: int | None = None) -> RobotState:
        self._target = Action(np.array([0.3, 0.0, 0.2, 1, 0, 0, 0]), 0.0)
        return self.get_state()


def frame_image(index: int, h: int, w: int) -> np.ndarray:
    """A frame whose pixels encode its index (so a test can tell which frame was stored)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = index % 256
    img[..., 1] = (index // 256) % 256
    img[..., 2] = np.arange(w, dtype=np.uint8)[None, :]
    return img


def decode_index(img: np.ndarray) -> int:
    return int(img[0, 0, 0]) + 256 * int(img[0, 0, 1])


class RateCamera(NothingToOpen, Camera):
    """A camera streaming at its own rate: frame k is captured at ``phase + k / rate_hz`` and becomes
    readable ``latency_s`` later (as a real driver delivers frames after exposure)."""

    def __init__(self, name: str, clock, rate_hz: float, phase_s: float = 0.0, latency_s: float = 0.0,
                 size: tuple[int, int] = (24, 32), mount: str = "scene") -> None:
        self.name, self.clock, self.rate_hz = name, clock, rate_hz
        self.phase_s, self.latency_s = phase_s, latency_s
        self.h, self.w = size
        self.mount = mount

    @property
    def info(self) -> CameraInfo:
        return CameraInfo(self.name, self.w, self.h, mount=self.mount, serial=f"fake:{self.name}",
                          fx=40.0, fy=41.0, cx=self.w / 2, cy=self.h / 2, model="fake")

    def capture_time(self, k: int) -> float:
        return self.phase_s + k / self.rate_hz

    def newest_index(self, t: float) -> int:
        """Index of the newest frame readable at time ``t`` (-1 if none)."""
        k = int(math.floor((t - self.latency_s - self.phase_s) * self.rate_hz + 1e-6))
        while k >= 0 and self.capture_time(k) + self.latency_s > t:  # exact, whatever the rounding above
            k -= 1
        return k

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        k = self.newest_index(self.clock.now())
        if k < 0:
            return None
        return Frame(frame_image(k, self.h, self.w), self.capture_time(k), k)


class EndAfter:
    """End an episode after ``seconds`` of episode time; report a fixed outcome."""

    def __init__(self, seconds: float, success: bool = True, score: float = 1.0) -> None:
        self.seconds, self.success, self.score = seconds, success, score

    def begin(self) -> None:
        pass

    def should_end(self, t: float) -> bool:
        return t >= self.seconds - 1e-9

    def outcome(self):
        return self.success, self.score


class ScriptedSource:
    """Commands x = 0.1·t (clipped by the robot beyond X_LIMIT); "spacemouse" first, then "policy"."""

    name = "scripted"

    def __init__(self, switch_at: float = 1.0, hold_between: tuple[float, float] | None = None) -> None:
        self.switch_at = switch_at
        self.hold_between = hold_between
        self.begun = 0

    def begin_episode(self, robot, seed) -> None:
        self.begun += 1

    def next_command(self, state: RobotState, t: float) -> Command:
        if self.hold_between and self.hold_between[0] <= t < self.hold_between[1]:
            return Command(None, "hold")
        pose = np.array([0.1 * t + 0.3, 0.0, 0.2, 1, 0, 0, 0])
        return Command(Action(pose, 0.5), "spacemouse" if t < self.switch_at else "policy")

    def events(self) -> list[dict]:
        return [{"kind": "pause", "start": 0.2, "end": 0.4, "label": "scripted"}]


class BudgetFileSystem:
    """A disk with ``budget`` bytes free in all: writes past it write what fits, then raise ENOSPC."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0

    def open_new(self, path: Path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        return _BudgetFile(os.fdopen(fd, "ab", buffering=0), self)


class _BudgetFile:
    def __init__(self, f, fs: BudgetFileSystem) -> None:
        self._f, self._fs = f, fs
        self.name = f.name

    def write(self, data) -> int:
        room = self._fs.budget - self._fs.used
        if len(data) > room:
            if room > 0:
                self._f.write(bytes(data[:room]))
                self._fs.used += room
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)
        self._fs.used += len(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()

    def fileno(self) -> int:
        return self._f.fileno()

    def close(self) -> None:
        self._f.close()

    @property
    def closed(self) -> bool:
        return self._f.closed
