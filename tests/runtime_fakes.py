"""Test doubles for the runtime tests: a robot that follows commands exactly, scripted predictors."""

from __future__ import annotations

import time

import numpy as np

from devices.connection import NothingToOpen
from devices.robot import Action, Robot, RobotState

HOME = np.array([0.45, 0.0, 0.20, 0.0, 1.0, 0.0, 0.0])


class KinematicRobot(NothingToOpen, Robot):
    """An arm that is always exactly where it was last commanded; keeps every command it got."""

    name = "kinematic"

    def __init__(self, pose: np.ndarray = HOME, gripper: float = 0.0) -> None:
        self._cmd = Action(np.asarray(pose, float).copy(), gripper)
        self.sent: list[Action] = []
        self._connected = True

    @property
    def features(self) -> dict[str, tuple[int, ...]]:
        return {"ee_pose": (7,), "gripper": (1,), "ee_wrench": (6,)}

    def get_state(self) -> RobotState:
        return RobotState(time=0.0, ee_pose=self._cmd.ee_pose.copy(), gripper=self._cmd.gripper, ee_wrench=np.zeros(6))

    def send_action(self, action: Action) -> Action:
        self.sent.append(action)
        self._cmd = action
        return action

    def hold(self) -> Action:
        return self._cmd

    def reset(self, seed: int | None = None) -> RobotState:
        self._cmd = Action(HOME.copy(), 0.0)
        return self.get_state()


def waypoints_towards(start: np.ndarray, goal: np.ndarray, n: int, speed: float, dt: float = 0.1,
                      gripper: float = 0.0) -> np.ndarray:
    """n waypoints moving from start (7) towards goal position at ``speed`` m/s, orientation kept."""
    out = np.tile(np.concatenate([start, [gripper]]), (n, 1))
    delta = goal[:3] - start[:3]
    dist = np.linalg.norm(delta)
    steps = np.minimum(np.arange(n) * speed * dt, dist)
    if dist > 0:
        out[:, :3] = start[:3] + delta / dist * steps[:, None]
    return out


class GoToPredictor:
    """A deterministic function of the newest observation: head for ``goal`` at ``speed``."""

    def __init__(self, goal=(0.55, 0.1, 0.15), horizon: int = 16, speed: float = 0.2, sleep_s: float = 0.0) -> None:
        self.goal = np.asarray(goal, float)
        self.horizon = horizon
        self.speed = speed
        self.sleep_s = sleep_s
        self.calls: list[float] = []
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1
        self.calls.clear()

    def predict_chunk(self, obs_history):
        self.calls.append(obs_history[-1].time)
        if self.sleep_s:
            time.sleep(self.sleep_s)
        return waypoints_towards(obs_history[-1].ee_pose, self.goal, self.horizon, self.speed)


class TimeStampPredictor:
    """Waypoint i of a chunk requested at t carries t in x and i in y: shows what got executed."""

    def __init__(self, horizon: int = 16) -> None:
        self.horizon = horizon

    def reset(self) -> None:
        pass

    def predict_chunk(self, obs_history):
        t = obs_history[-1].time
        out = np.tile(np.concatenate([HOME, [0.0]]), (self.horizon, 1))
        out[:, 0] = 0.3 + t
        out[:, 1] = np.arange(self.horizon) / 100.0
        return out


class FailingPredictor:
    """Raises on its second prediction (to test that errors reach the caller as one line)."""

    def __init__(self) -> None:
        self.n = 0

    def reset(self) -> None:
        self.n = 0

    def predict_chunk(self, obs_history):
        self.n += 1
        if self.n >= 2:
            raise ArithmeticError("the network produced garbage\nover two lines")
        return np.tile(np.concatenate([HOME, [0.0]]), (16, 1))


class DyingPredictor(FailingPredictor):
    """Kills its process outright (a crashed worker)."""

    def predict_chunk(self, obs_history):
        import os

        os._exit(3)
