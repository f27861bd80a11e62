"""Coordinate frames of the input devices and the one operator frame they are all brought into.

Every device reports motion in the *operator frame*: x to the operator's right, y away from the
operator, z up. A device's native frame is turned into it by a fixed rotation here, so the mapper's
per-device ``axis_map`` (operator frame → robot base frame) means the same thing for every device.
"""

from __future__ import annotations

import numpy as np

from devices.geometry import matrix_to_quat, quat_normalize, quat_to_matrix
from devices.teleop.quat import matrix_to_q

# OpenXR reference spaces and the 3D Systems Touch (OpenHaptics) share a y-up frame:
# x right, y up, z towards the user. Operator frame: x right, y forward (= -z), z up (= y).
OPERATOR_FROM_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

# Force Dimension devices (DHD): x towards the user, y right, z up.
OPERATOR_FROM_DHD = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])

# The embedded station seen through its scene camera: the camera sits at +x looking back at the
# robot base, so the operator's right is base +y, away from the operator is base -x, up is up.
STATION_BASE_FROM_OPERATOR = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def check_rotation(m: object, what: str = "axis_map") -> np.ndarray:
    """The 3x3 proper rotation in ``m``, or a one-line ValueError naming ``what`` is wrong."""
    try:
        r = np.asarray(m, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a 3x3 matrix of numbers") from None
    if r.shape != (3, 3) or not np.all(np.isfinite(r)):
        raise ValueError(f"{what} must be a 3x3 matrix of finite numbers, got shape {r.shape}")
    if not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
        raise ValueError(f"{what} must be a rotation (orthonormal rows, determinant +1): {r.tolist()}")
    return r


def rotate_pose(rotation: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Express a pose given in frame A in frame B, for ``rotation`` = B_from_A (no translation)."""
    pose = np.asarray(pose, dtype=float)
    out = np.empty(7)
    out[:3] = rotation @ pose[:3]
    out[3:] = matrix_to_quat(rotation @ quat_to_matrix(pose[3:]) @ rotation.T)
    return out


def transform_to_operator_pose(frame: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Operator-frame pose of a native 4x4 transform, for ``frame`` = operator_from_native.

    Uses the scalar helpers of ``devices.teleop.quat``: it runs in the 1 kHz haptic servo loop,
    where every tick's Python time counts (several times faster than ``rotate_pose``).
    """
    m = np.asarray(m, dtype=float).reshape(4, 4)
    r = frame @ m[:3, :3] @ frame.T
    x, y, z = (frame @ m[:3, 3]).tolist()
    return np.array([x, y, z, *matrix_to_q(r.tolist())])


def pose_to_matrix(pose: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = quat_to_matrix(quat_normalize(np.asarray(pose[3:], dtype=float)))
    m[:3, 3] = pose[:3]
    return m
