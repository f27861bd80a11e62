"""Scripted experts: privileged-state demonstrators with human-like imperfections on demand.

A task's expert is a generator of `Goal`s (move here, with this gripper, settle this long). The
base class turns goals into a speed-limited 10 Hz command stream and adds what curation and
robustness work need to find in real data: smooth action noise, idle pauses, and mistakes followed
by recoveries. Everything injected is logged as an `ExpertEvent`, which the recorder stores with the
episode so detection quality can be measured against ground truth.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np

from devices.geometry import quat_mul, quat_slerp, yaw_quat
from devices.robot import Action
from devices.sim.scene import HOME_QUAT

if TYPE_CHECKING:
    from devices.sim.station import SimStation


@dataclass(frozen=True)
class ExpertKnobs:
    noise: float = 0.0  # std (m) of the smooth noise added to the commanded position
    pause_prob: float = 0.0  # chance of an idle pause at each goal boundary (and at start/end)
    mistake_prob: float = 0.0  # chance per episode of a mistake followed by a recovery
    pause_range_s: tuple[float, float] = (1.5, 3.0)
    max_speed: float = 0.25  # m/s
    max_angular_speed: float = 2.0  # rad/s


EXPERT_SEED_OFFSET = 7919  # a prime, so the expert's draws never mirror the scene reset's (seeded by `seed`)


def episode_expert(station: "SimStation", knobs: ExpertKnobs, seed: int | None) -> "Expert":
    """The task's scripted expert for the episode seeded ``seed``: the one seeding rule, shared by
    recording, evaluation and the runtime's expert predictor, so that a recorded demonstration and
    an evaluated rollout of the same seed are the same episode (``None``: unseeded)."""
    rng = np.random.default_rng(None if seed is None else seed + EXPERT_SEED_OFFSET)
    return station.task.make_expert(station, knobs, rng)


@dataclass(frozen=True)
class Goal:
    position: np.ndarray
    yaw: float = 0.0
    gripper: float = 0.0
    tolerance: float = 0.008  # m
    settle_s: float = 0.0  # stay at the goal this long before the next one
    label: str = ""
    pausable: bool = True  # an operator may idle after this goal (pause_prob applies here)


@dataclass
class ExpertEvent:
    kind: str  # "pause", "mistake" or "recovery"
    start: float
    end: float = float("nan")
    label: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end, "label": self.label}


def grasp_quat(yaw: float) -> np.ndarray:
    """Hand pointing down, turned by yaw about the world z axis."""
    return quat_mul(yaw_quat(yaw), HOME_QUAT)


@dataclass
class Expert(ABC):
    """Base expert; subclasses implement `behaviour`."""

    station: "SimStation"
    knobs: ExpertKnobs
    rng: np.random.Generator
    dt: float = 0.1
    events: list[ExpertEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        state = self.station.get_state()
        self._command = state.ee_pose.copy()
        self._gripper = 0.0
        self._noise = np.zeros(3)
        self._goals: Iterator[Goal] = self.behaviour()
        self._goal: Goal | None = None
        self._settle_left = 0.0
        self._pause_until = -1.0
        self._goal_started = 0.0
        self._goal_budget = 0.0
        self.finished = False
        self._maybe_pause("start")

    # -- subclasses --------------------------------------------------------------------------------
    @abstractmethod
    def behaviour(self) -> Iterator[Goal]:
        """Yield goals one after another; the generator reads the station's state when resumed."""

    # -- helpers for subclasses --------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.station.time

    def begin(self, kind: str, label: str = "") -> ExpertEvent:
        ev = ExpertEvent(kind, self.now, label=label)
        self.events.append(ev)
        return ev

    def end(self, ev: ExpertEvent) -> None:
        ev.end = self.now

    # -- the command stream ------------------------------------------------------------------------
    def act(self) -> Action:
        """The next 10 Hz command."""
        t = self.now
        if t < self._pause_until:
            return self._emit()
        if self._goal is None or self._reached():
            if self._goal is not None and self._settle_left > 0:
                self._settle_left -= self.dt
                return self._emit()
            if self._goal is not None:
                if self._goal.pausable:
                    self._maybe_pause(self._goal.label)
                self._goal = None
                if t < self._pause_until:
                    return self._emit()
            self._goal = next(self._goals, None)
            if self._goal is None:
                if not self.finished:
                    self.finished = True
                    self._maybe_pause("end")
                return self._emit()
            self._settle_left = self._goal.settle_s
            self._goal_started = t
            self._goal_budget = 1.5 + np.linalg.norm(self._goal.position - self._command[:3]) / self.knobs.max_speed
        self._move_towards(self._goal)
        return self._emit()

    def _reached(self) -> bool:
        g = self._goal
        if np.linalg.norm(self._command[:3] - g.position) > 1e-6:
            return False
        # A goal blocked by contact (pressing on an object) counts as reached after a grace time.
        blocked = self.now - self._goal_started > self._goal_budget
        return bool(blocked or np.linalg.norm(self.station.get_state().ee_pose[:3] - g.position) < g.tolerance)

    def _move_towards(self, g: Goal) -> None:
        delta = g.position - self._command[:3]
        dist = np.linalg.norm(delta)
        step = self.knobs.max_speed * self.dt
        self._command[:3] = g.position if dist <= step else self._command[:3] + delta * (step / dist)
        target_q = grasp_quat(g.yaw)
        q = self._command[3:]
        ang = 2 * np.arccos(np.clip(abs(float(np.dot(q, target_q))), 0, 1))
        max_ang = self.knobs.max_angular_speed * self.dt
        self._command[3:] = target_q if ang <= max_ang else quat_slerp(q, target_q, max_ang / ang)
        self._gripper = g.gripper

    def _maybe_pause(self, label: str) -> None:
        if self.knobs.pause_prob > 0 and self.rng.random() < self.knobs.pause_prob:
            lo, hi = self.knobs.pause_range_s
            length = float(self.rng.uniform(lo, hi))
            self._pause_until = self.now + length
            self.events.append(ExpertEvent("pause", self.now, self.now + length, label=label))

    def _emit(self) -> Action:
        pose = self._command.copy()
        if self.knobs.noise > 0:
            # Smooth (first-order) noise, like a hand's tremor, not white jitter.
            self._noise = 0.8 * self._noise + self.rng.normal(0.0, self.knobs.noise, 3) * 0.6
            pose[:3] += self._noise
        return Action(pose, self._gripper)
