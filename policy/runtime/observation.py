"""What a chunk predictor is given: a short history of timestamped observations, newest last.

Field names match the episode format (``obs/ee_pose``, ``obs/gripper``, ``obs/ee_wrench``,
``obs/images/<camera>``), so a policy trained on recorded episodes reads live observations with
the same keys. ``command`` is the action that was applied at that instant (what the recorder
stores as ``action/*``), for policies that condition on their own recent commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from devices.camera import Camera
from devices.robot import Action, Robot


def _unknown_wrench() -> np.ndarray:
    return np.full(6, np.nan)


@dataclass(frozen=True)
class Observation:
    """One synchronised observation: what the recorder stores for one tick, what a policy is given.

    The one observation type of the policy side (the runtime, the evaluator, the inference API).
    """

    time: float  # seconds on the control clock (sim time in evaluation), the same for a whole history
    ee_pose: np.ndarray  # (7,) measured x, y, z, qw, qx, qy, qz
    gripper: float  # measured closure in [0, 1]
    ee_wrench: np.ndarray = field(default_factory=_unknown_wrench)  # (6,) force/torque; NaN where unknown
    images: Mapping[str, np.ndarray] = field(default_factory=dict)  # camera -> (H, W, 3) uint8 RGB
    command: np.ndarray | None = None  # (8,) pose + gripper applied at this instant
    joint_pos: np.ndarray | None = None
    image_times: Mapping[str, float] = field(default_factory=dict)  # camera -> capture time

    def field(self, key: str) -> np.ndarray:
        """One low-dimensional field by its episode name, as float32 (what a policy's features read)."""
        value = self.lowdim().get(key)
        if value is None or (key == "ee_wrench" and not np.isfinite(value).any()):
            raise ValueError(f"the policy needs observation {key!r}, which this observation lacks")
        return np.asarray(value, dtype=np.float32)

    def lowdim(self) -> dict[str, np.ndarray]:
        """The low-dimensional fields by their episode names (``gripper`` as a (1,) array)."""
        out = {"ee_pose": self.ee_pose, "gripper": np.array([self.gripper]), "ee_wrench": self.ee_wrench}
        if self.joint_pos is not None:
            out["joint_pos"] = self.joint_pos
        return out


def observe(robot: Robot, cameras: Mapping[str, Camera], now: float, command: Action | None = None) -> Observation:
    """Snapshot the robot's proprioception and the latest frame of each camera in ``cameras``."""
    state = robot.get_state()
    images, image_times = {}, {}
    for name, cam in cameras.items():
        frame = cam.read_latest()
        if frame is None:
            raise RuntimeError(f"camera {name!r} has no frame")
        images[name], image_times[name] = frame.image, float(frame.timestamp)
    return Observation(time=float(now), ee_pose=np.asarray(state.ee_pose, float).copy(), gripper=float(state.gripper),
                       ee_wrench=np.asarray(state.ee_wrench, float).copy(), images=images,
                       command=None if command is None else command.as_vector(),
                       joint_pos=None if state.joint_pos is None else np.asarray(state.joint_pos).copy(),
                       image_times=image_times)
