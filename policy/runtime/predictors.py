"""The small interface the runner needs from a policy, and the predictors that ship with it.

A `ChunkPredictor` maps an observation history (newest last) to a chunk of T waypoints
``(T, 8)`` = pose7 + gripper. Waypoint ``i`` is due ``i`` control periods after the newest
observation (waypoint 0 is the target for the observation's own instant), which is the receding-
horizon convention of Diffusion Policy. The trained diffusion policy (``policy.reset()``,
``policy.predict_chunk(obs_history)``) satisfies this protocol as it is.

Predictors that need privileged access to the simulated station (the scripted expert, a plain
step-by-step `Agent`) also implement `StationAware`; the evaluator attaches them to each episode.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

import numpy as np

from policy.runtime.observation import Observation

if TYPE_CHECKING:
    from devices.sim.station import SimStation


@runtime_checkable
class ChunkPredictor(Protocol):
    def reset(self) -> None:
        """Forget everything about the previous episode (called before each one)."""

    def predict_chunk(self, obs_history: Sequence[Observation]) -> np.ndarray:
        """(T, 8) waypoints; waypoint i is due i periods after ``obs_history[-1].time``."""


@runtime_checkable
class StationAware(Protocol):
    def attach(self, station: "SimStation", seed: int) -> None:
        """Bind to the episode's station (after its reset with ``seed``)."""


@dataclass
class ScriptedExpertPredictor:
    """The task's scripted expert served as receding-horizon chunks (privileged; no cameras).

    It keeps a plan: each call drops the waypoints already due and extends the plan by stepping the
    expert until ``horizon`` waypoints lie ahead. Consecutive chunks therefore agree wherever they
    overlap, like those of a well-trained policy, which makes it the reference for what latency,
    execution horizon and blending do to a policy that is otherwise perfect.

    An expert step that changed nothing in the expert (it is waiting for the arm to reach a goal,
    which it judges from the measured pose) is only provisional: the next call drops such trailing
    future steps and asks again, so the plan does not commit to waiting longer than the arm needs.

    The expert's ``act()`` is a step command (where to be one period later), so run it with
    ``due_offset=1`` (`policy.evaluation.expert_chunk_agent` does).
    """

    horizon: int = 16
    noise: float = 0.0
    rate_hz: float = 10.0

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        self._station = None
        self._expert = None
        self._plan: deque[tuple[float, np.ndarray, bool]] = deque()  # (due, waypoint, provisional)
        self._next_due = 0.0

    def attach(self, station: "SimStation", seed: int) -> None:
        from devices.sim.experts import ExpertKnobs, episode_expert

        self._station = station
        self._expert = episode_expert(station, ExpertKnobs(noise=self.noise), seed)
        self.reset()

    def reset(self) -> None:
        self._plan.clear()
        self._next_due = float("nan")

    def predict_chunk(self, obs_history: Sequence[Observation]) -> np.ndarray:
        if self._expert is None:
            raise RuntimeError("ScriptedExpertPredictor needs attach(station, seed) before predicting")
        dt = 1.0 / self.rate_hz
        now = obs_history[-1].time
        while self._plan and self._plan[0][0] < now - 1e-9:
            self._plan.popleft()
        while self._plan and self._plan[-1][2] and self._plan[-1][0] > now + 1e-9:
            self._next_due = self._plan.pop()[0]
        if not self._plan:
            self._next_due = now
        while len(self._plan) < self.horizon:
            before = _signature(self._expert)
            waypoint = self._expert.act().as_vector()
            self._plan.append((self._next_due, waypoint, _signature(self._expert) == before))
            self._next_due += dt
        return np.stack([v for _, v, _ in self._plan])


def _signature(expert: object) -> tuple:
    """Everything an expert step can change, compared by value (arrays) or identity (goals)."""
    out = []
    for key, value in sorted(vars(expert).items()):
        if isinstance(value, np.ndarray):
            out.append((key, value.tobytes()))
        elif isinstance(value, (int, float, str, bool, type(None))):
            out.append((key, value))
        elif isinstance(value, list):
            out.append((key, len(value)))
        elif isinstance(value, np.random.Generator):
            out.append((key, repr(value.bit_generator.state)))
        else:
            out.append((key, id(value)))
    return tuple(out)


class StepAgentPredictor:
    """A step-by-step `Agent` (``act(station)`` at 10 Hz) as a chunk predictor with T = 1.

    Executed with one step per chunk, it reproduces the classic synchronous loop, but through the
    same buffer, latency model and safety controller as a chunked policy.
    """

    def __init__(self, agent: object) -> None:
        self.agent = agent
        self._station = None

    def attach(self, station: "SimStation", seed: int) -> None:
        self._station = station
        self.agent.reset(station, seed)

    def reset(self) -> None:
        """The agent itself is reset in `attach`, where it gets its station and seed."""

    def predict_chunk(self, obs_history: Sequence[Observation]) -> np.ndarray:
        if self._station is None:
            raise RuntimeError("StepAgentPredictor needs attach(station, seed) before predicting")
        return self.agent.act(self._station).as_vector()[None]
