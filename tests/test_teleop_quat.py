"""The scalar pose helpers of the teleop fast path agree with devices.geometry."""

import numpy as np

from devices.geometry import matrix_to_quat, quat_mul, quat_normalize, quat_to_matrix, quat_to_rotvec
from devices.teleop.frames import (
    OPERATOR_FROM_DHD,
    OPERATOR_FROM_Y_UP,
    pose_to_matrix,
    rotate_pose,
    transform_to_operator_pose,
)
from devices.teleop.quat import matrix_to_q, q_mul, q_normalize, q_to_rotvec, rotvec_to_q


def random_quats(n, seed=0):
    q = np.random.default_rng(seed).normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_scalar_quaternion_helpers_match_geometry():
    qs = random_quats(200)
    # include the branches of matrix → quaternion conversion: half-turns about each axis
    extra = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0.0, 0.6, 0.8, 0.0]])
    qs = np.vstack([qs, extra])
    for a, b in zip(qs, qs[::-1], strict=True):
        np.testing.assert_allclose(q_mul(a, b), quat_mul(a, b), atol=1e-12)
        np.testing.assert_allclose(q_normalize(a), quat_normalize(a), atol=1e-12)
        np.testing.assert_allclose(q_to_rotvec(a), quat_to_rotvec(a), atol=1e-9)
        np.testing.assert_allclose(rotvec_to_q(quat_to_rotvec(a)), quat_normalize(a), atol=1e-9)
        np.testing.assert_allclose(matrix_to_q(quat_to_matrix(a).tolist()), matrix_to_quat(quat_to_matrix(a)),
                                   atol=1e-9)


def test_fast_transform_matches_rotate_pose():
    rng = np.random.default_rng(1)
    for q in random_quats(50, seed=2):
        pose = np.concatenate([rng.normal(size=3), quat_normalize(q)])
        for frame in (OPERATOR_FROM_Y_UP, OPERATOR_FROM_DHD):
            np.testing.assert_allclose(transform_to_operator_pose(frame, pose_to_matrix(pose)),
                                       rotate_pose(frame, pose), atol=1e-9)
