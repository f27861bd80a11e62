"""What the networks see: recorded fields mapped to learning vectors, and actions back again.

Actions are learned as ee position (3) + 6-D rotation (6) + gripper (1) = 10 numbers and returned
as the `Action` contract's ``[x, y, z, qw, qx, qy, qz, gripper]``. Low-dimensional observations
are named episode fields (``obs/<key>``), each with a converter, so adding one is a registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from policy.rotation import pose7_to_pose9, pose9_to_pose7

ACTION_DIM = 10  # position 3 + rotation 6 + gripper 1
ACTION_OUT_DIM = 8  # pose 7 + gripper 1 (the Action contract)


@dataclass(frozen=True)
class LowdimField:
    """How one recorded observation field becomes learning features."""

    convert: Callable[[torch.Tensor], torch.Tensor]
    doc: str


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


LOWDIM_FIELDS: dict[str, LowdimField] = {
    "ee_pose": LowdimField(pose7_to_pose9, "7-D pose → position + 6-D rotation (9)"),
    "gripper": LowdimField(_identity, "measured closure in [0, 1] (1)"),
    "ee_wrench": LowdimField(_identity, "contact force and torque (6)"),
    "joint_pos": LowdimField(_identity, "joint positions (n)"),
}


def lowdim_field(key: str) -> LowdimField:
    try:
        return LOWDIM_FIELDS[key]
    except KeyError:
        raise ValueError(f"unknown low-dim observation {key!r}; known: {', '.join(sorted(LOWDIM_FIELDS))}") from None


def lowdim_vector(fields: dict[str, torch.Tensor], keys: tuple[str, ...]) -> torch.Tensor:
    """Concatenate the converted fields in ``keys`` order: (..., D)."""
    return torch.cat([lowdim_field(k).convert(fields[k].float()) for k in keys], dim=-1)


def action_to_vector(action: torch.Tensor) -> torch.Tensor:
    """(..., 8) pose + gripper → (..., 10) learning vector."""
    return torch.cat([pose7_to_pose9(action[..., :7].float()), action[..., 7:8].float()], dim=-1)


def vector_to_action(v: torch.Tensor) -> torch.Tensor:
    """(..., 10) learning vector → (..., 8) pose (unit quaternion) + gripper clipped to [0, 1]."""
    return torch.cat([pose9_to_pose7(v[..., :9]), v[..., 9:10].clamp(0.0, 1.0)], dim=-1)
