"""The embedded station as a Gymnasium environment, so other frameworks can roll out in it.

One ``step`` is one 10 Hz period of the station as Demo Station records and runs it: the action is
a target end-effector pose plus gripper (the action contract: ``[x, y, z, qw, qx, qy, qz, gripper]``,
base frame, metres, gripper 0 open → 1 closed), the safety controller ticks at ``control_hz``
between the steps (interpolating from the previous target, clipping to the workspace box, holding
on a non-finite action), and the observation is what the recorder stores for one tick. The reward
is the task's score in [0, 1] (covered fraction for push_t, progress for pick_place); an episode
terminates on the task's success and is truncated at its time limit.

Registered ids, on the floating hand (the station's one robot today): ``DemoStation/PickPlace-v0``
and ``DemoStation/PushT-v0``. Gymnasium 1.x has no plugin discovery, so the ids exist once this
module is imported, which Gymnasium's module prefix does:
``gymnasium.make("devices.sim.gym_env:DemoStation/PushT-v0")``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from devices.control import SafetyController, StepTargetSource
from devices.robot import Action
from devices.safety import limits_for
from devices.sim.station import SimStation, make_station
from devices.sim.station_clock import StationClock

ENV_IDS = {"pick_place": "DemoStation/PickPlace-v0", "push_t": "DemoStation/PushT-v0"}


class StationEnv(gym.Env):
    """The station behind Gymnasium's API (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, task: str = "pick_place", cameras: tuple[str, ...] = ("scene", "wrist"),
                 image_size: int = 96, rate_hz: float = 10.0, control_hz: float = 100.0,
                 perturbations: dict[str, float] | None = None, render_mode: str | None = None) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if not 0 < rate_hz <= control_hz:
            raise ValueError(f"rate_hz must be in (0, control_hz], got {rate_hz} with control_hz {control_hz}")
        self.render_mode = render_mode
        self.cameras = tuple(cameras)
        self.rate_hz = float(rate_hz)
        self.station: SimStation = make_station(task, image_size=image_size, cameras=self.cameras,
                                                perturbations=perturbations)
        self._target = StepTargetSource()
        self.controller = SafetyController(self.station, source=self._target, limits=limits_for(self.station),
                                           rate_hz=control_hz)
        self._clock = StationClock(self.station, self.controller)
        low, high = (np.asarray(c, np.float32) for c in self.station.workspace_box)
        self.action_space = spaces.Box(low=np.concatenate([low, -np.ones(4, np.float32), [0.0]]).astype(np.float32),
                                       high=np.concatenate([high, np.ones(4, np.float32), [1.0]]).astype(np.float32),
                                       dtype=np.float32)
        obs = {
            "ee_pose": spaces.Box(-np.inf, np.inf, (7,), np.float64),  # measured x, y, z, qw, qx, qy, qz
            "gripper": spaces.Box(0.0, 1.0, (1,), np.float64),  # measured closure, 0 open
            "ee_wrench": spaces.Box(-np.inf, np.inf, (6,), np.float64),  # contact force (N) and torque (N m)
        }
        for cam in self.cameras:
            obs[f"image_{cam}"] = spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
        self.observation_space = spaces.Dict(obs)
        self._connected = False
        self._interventions_before: dict[str, int] = {}

    # -- Gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if not self._connected:
            self.station.connect()
            self._connected = True
        episode_seed = seed if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self.station.reset(episode_seed)
        self._target.clear()
        self.controller.reset()
        self._interventions_before = dict(self.controller.interventions)  # the controller counts for life
        return self._observation(), self._info()

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (8,):
            raise ValueError(f"an action is 8 numbers (x, y, z, qw, qx, qy, qz, gripper), got shape {action.shape}")
        now = self.station.time
        period = 1.0 / self.rate_hz
        current = self.controller.last_applied or self.controller.reset()
        self._target.set(Action(action[:7], float(action[7])), now, now + period, current=current)
        self._clock.sleep_until(now + period)
        status = self.station.status()
        return self._observation(), float(status.score), bool(status.success), \
            bool(status.timed_out and not status.success), self._info()

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self.station.render(self.cameras[0] if self.cameras else "scene")

    def close(self) -> None:
        if self._connected:
            self.station.disconnect()
            self._connected = False

    # -- helpers ---------------------------------------------------------------------------------
    def _observation(self) -> dict[str, np.ndarray]:
        state = self.station.get_state()
        wrench = np.asarray(state.ee_wrench, np.float64)
        obs = {"ee_pose": np.asarray(state.ee_pose, np.float64), "gripper": np.array([state.gripper], np.float64),
               "ee_wrench": np.where(np.isfinite(wrench), wrench, 0.0)}
        for cam in self.cameras:
            obs[f"image_{cam}"] = self.station.render(cam)
        return obs

    def _info(self) -> dict[str, Any]:
        status = self.station.status()
        before = self._interventions_before
        episode = {k: n - before.get(k, 0) for k, n in self.controller.interventions.items() if n - before.get(k, 0)}
        return {"score": float(status.score), "success": bool(status.success), "time": float(self.station.time),
                "interventions": episode}


def register_envs() -> None:
    """Register each task's id with Gymnasium (idempotent)."""
    for task, env_id in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="devices.sim.gym_env:StationEnv", kwargs={"task": task},
                         max_episode_steps=None)


register_envs()  # what Gymnasium's `module:id` form and `import` rely on (its registry, not ours)
