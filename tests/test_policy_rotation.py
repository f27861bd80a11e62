import numpy as np
import torch

from devices.geometry import quat_normalize
from devices.geometry import quat_to_matrix as np_quat_to_matrix
from policy.features import action_to_vector, vector_to_action
from policy.rotation import (
    matrix_to_quat,
    pose7_to_pose9,
    pose9_to_pose7,
    quat_to_matrix,
    quat_to_rot6d,
    rot6d_to_matrix,
    rot6d_to_quat,
)


def random_quats(n, seed=0):
    q = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return q / q.norm(dim=-1, keepdim=True)


def test_matrix_matches_the_numpy_geometry_helpers():
    for q in random_quats(20):
        assert np.allclose(quat_to_matrix(q).numpy(), np_quat_to_matrix(q.numpy()), atol=1e-9)


def test_quat_6d_round_trip_identifies_q_and_minus_q():
    q = random_quats(500)
    back = rot6d_to_quat(quat_to_rot6d(q))
    expected = torch.from_numpy(quat_normalize(q.numpy()))
    assert torch.allclose(back, expected, atol=1e-6)
    assert torch.allclose(quat_to_rot6d(q), quat_to_rot6d(-q), atol=1e-12)  # the double cover disappears


def test_matrix_to_quat_is_stable_near_180_degrees():
    q = torch.tensor([[0.0, 1.0, 0.0, 0.0], [1e-9, 0.0, 0.0, 1.0], [0.0, 0.6, 0.8, 0.0]], dtype=torch.float64)
    assert torch.allclose(matrix_to_quat(quat_to_matrix(q)), torch.from_numpy(quat_normalize(q.numpy())), atol=1e-6)


def test_any_6_numbers_become_a_rotation():
    m = rot6d_to_matrix(torch.randn(100, 6, dtype=torch.float64))
    eye = torch.eye(3, dtype=torch.float64).expand(100, 3, 3)
    assert torch.allclose(m.transpose(-1, -2) @ m, eye, atol=1e-9)
    assert torch.allclose(torch.linalg.det(m), torch.ones(100, dtype=torch.float64), atol=1e-9)


def test_pose_and_action_vectors_round_trip():
    pose = torch.cat([torch.randn(10, 3, dtype=torch.float64), random_quats(10, 1)], -1)
    assert torch.allclose(pose9_to_pose7(pose7_to_pose9(pose))[:, :3], pose[:, :3])
    action = torch.cat([pose, torch.tensor([[0.0], [1.0], [0.3], [1.4], [-0.2]] * 2)], -1).float()
    v = action_to_vector(action)
    assert v.shape == (10, 10)
    back = vector_to_action(v)
    assert torch.allclose(back[:, :3], action[:, :3], atol=1e-6)
    assert torch.all((back[:, 7] >= 0) & (back[:, 7] <= 1))  # gripper clipped to the contract's range
    assert torch.allclose(back[:, 3:7].norm(dim=-1), torch.ones(10), atol=1e-6)
