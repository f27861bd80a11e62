"""The robot protocol: what the recorder, the teleop path and the policy runner need of an arm.

The embedded MuJoCo station (`devices.sim.station.SimStation`) implements it; a driver for a real
arm implements the same few methods and nothing else in Demo Station changes. Commands are the
Action contract of docs/architecture.md: a target end-effector pose in the robot base frame plus a gripper
command in [0, 1]; the robot tracks it under impedance control, so a position error becomes force.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field

import numpy as np

from devices.connection import Connectable
from devices.geometry import quat_normalize

POSE_DIM = 7  # x, y, z, qw, qx, qy, qz
WRENCH_DIM = 6  # fx, fy, fz, tx, ty, tz


class RobotError(RuntimeError):
    """A robot could not do what was asked (not connected, refused command, lost link)."""


@dataclass(frozen=True)
class Action:
    """A commanded end-effector target: pose ``[x, y, z, qw, qx, qy, qz]`` (m) and gripper (0 open, 1 closed)."""

    ee_pose: np.ndarray
    gripper: float

    def __post_init__(self) -> None:
        pose = np.asarray(self.ee_pose, dtype=float).reshape(POSE_DIM)
        object.__setattr__(self, "ee_pose", pose)
        object.__setattr__(self, "gripper", float(self.gripper))

    @property
    def position(self) -> np.ndarray:
        return self.ee_pose[:3]

    @property
    def quat(self) -> np.ndarray:
        return self.ee_pose[3:]

    def is_finite(self) -> bool:
        return bool(np.all(np.isfinite(self.ee_pose)) and np.isfinite(self.gripper))

    def normalized(self) -> "Action":
        """Same action with a unit quaternion and the gripper clipped to [0, 1]."""
        pose = self.ee_pose.copy()
        pose[3:] = quat_normalize(pose[3:])
        return Action(pose, float(np.clip(self.gripper, 0.0, 1.0)))

    def as_vector(self) -> np.ndarray:
        return np.concatenate([self.ee_pose, [self.gripper]])

    @classmethod
    def from_vector(cls, v: np.ndarray) -> "Action":
        v = np.asarray(v, dtype=float)
        return cls(v[:POSE_DIM], float(v[POSE_DIM]))


@dataclass(frozen=True)
class RobotState:
    """One snapshot of proprioception, timestamped on the caller's clock (seconds)."""

    time: float
    ee_pose: np.ndarray
    gripper: float
    ee_wrench: np.ndarray = field(default_factory=lambda: np.full(WRENCH_DIM, np.nan))
    joint_pos: np.ndarray | None = None


class Robot(Connectable):
    """An arm with a gripper commanded in end-effector space.

    Usable as a context manager. ``features`` describes what ``get_state`` returns (names → shapes)
    and works before ``connect`` so the recorder can lay out an episode from the devices it is given.
    """

    name: str = "robot"

    @property
    @abstractmethod
    def features(self) -> dict[str, tuple[int, ...]]:
        ...

    @abstractmethod
    def get_state(self) -> RobotState:
        ...

    @abstractmethod
    def send_action(self, action: Action) -> Action:
        """Command a target; returns the action actually applied (after the robot's own limits)."""

    @abstractmethod
    def hold(self) -> Action:
        """Keep the current pose and gripper; returns the action that now holds."""

    @abstractmethod
    def reset(self, seed: int | None = None) -> RobotState:
        """Go to the home pose (the station also re-randomises its scene from ``seed``)."""

    @property
    def workspace_box(self) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
        """The box (low, high corners, base frame, metres) the tool may be commanded into, where the
        robot knows one; the safety controller's limits are built from it (`devices.safety.limits_for`)."""
        return None
