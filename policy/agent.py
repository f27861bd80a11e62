"""A trained policy as an evaluation `Agent`: receding horizon in the station.

Keeps the last ``obs_steps`` observations, predicts a ``horizon``-step chunk, executes
``action_steps`` of it, then re-plans. A chunk's waypoint j is the command in force
``j / rate_hz`` after the newest observation (the recorder's convention: ``action[i]`` is in force
from ``time[i]``), and what `act` returns is the target for one period later, so the agent plays
waypoints 1, 2, … — waypoint 0 is where the robot is already being sent. Frames that will be in the next plan's history are
encoded as they arrive (`observe`), so each frame goes through the encoder at most once and a
re-plan encodes only the newest one. Chunk latencies are reported per episode.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devices.robot import Action
from policy.inference import DiffusionPolicyRunner, Observation


def observation_from_station(station: "object", cameras: tuple[str, ...]) -> Observation:
    state = station.get_state()
    images = {c: station.render(c) for c in cameras}
    return Observation(time=float(state.time), ee_pose=np.asarray(state.ee_pose, dtype=np.float32),
                       gripper=float(state.gripper), images=images,
                       ee_wrench=np.asarray(state.ee_wrench, dtype=np.float32),
                       joint_pos=None if state.joint_pos is None else np.asarray(state.joint_pos, dtype=np.float32))


@dataclass
class PolicyAgent:
    """Loads lazily (in `reset`), so the agent can be sent to evaluation worker processes."""

    source: str
    device: str = "cpu"
    sample_steps: int | None = None
    action_steps: int | None = None
    threads: int = 0  # torch threads in the process that runs the policy (0: leave torch's setting)
    name: str = ""
    uses_cameras: bool = True
    _runner: DiffusionPolicyRunner | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or f"policy:{Path(self.source).name}"

    def load(self) -> DiffusionPolicyRunner:
        if self._runner is None:
            if self.threads > 0:  # here, not in __init__: load runs in each evaluation worker
                import torch

                torch.set_num_threads(self.threads)
            self._runner = DiffusionPolicyRunner.from_checkpoint(self.source, self.device, self.sample_steps)
            self.uses_cameras = bool(self._runner.cameras)
        return self._runner

    def __getstate__(self) -> dict:  # the network is rebuilt in the worker from the checkpoint
        state = dict(self.__dict__)
        state["_runner"] = None
        return state

    def reset(self, station: "object", seed: int) -> None:
        runner = self.load()
        runner.reset(seed)
        self._history: deque[Observation] = deque(maxlen=runner.obs_steps)
        self._queue: deque[np.ndarray] = deque()
        self._latencies: list[float] = []
        self._steps = self.action_steps or runner.action_steps

    def act(self, station: "object") -> Action:
        runner = self._runner
        obs = observation_from_station(station, runner.cameras)
        self._history.append(obs)
        if not self._queue:
            chunk = runner.predict_chunk(list(self._history))
            self._latencies.append(chunk.latency_s * 1000.0)
            first = 1 if len(chunk.actions) > 1 else 0  # waypoint 0 is already in force
            self._queue.extend(chunk.actions[first:first + self._steps])
        elif len(self._queue) <= runner.obs_steps - 1:
            runner.observe(obs)  # this frame will be in the next plan's history
        return Action.from_vector(self._queue.popleft())

    def episode_info(self) -> dict:
        return {"chunk_latency_ms": list(self._latencies)}


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    if not latencies_ms:
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan"), "n": 0}
    a = np.asarray(latencies_ms)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "mean": float(a.mean()),
            "n": int(a.size)}
