"""Rotations for learning: quaternion ↔ continuous 6-D representation, in torch.

Networks regress rotations badly as quaternions (q and −q are the same rotation, and the unit
constraint is a discontinuity for a regressor). The 6-D representation of Zhou et al. (2019) — the
first two columns of the rotation matrix — is continuous, and Gram–Schmidt maps any 6 numbers back
to a valid rotation. Quaternions are scalar-first ``[w, x, y, z]`` as everywhere in Demo Station
(the numpy helpers live in `devices.geometry`; these are their batched torch counterparts).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) unit-or-not quaternions → (..., 3, 3) rotation matrices."""
    q = F.normalize(q, dim=-1)
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )
    return torch.stack(rows, dim=-1).reshape(*q.shape[:-1], 3, 3)


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices → (..., 4) unit quaternions with w ≥ 0.

    Shepperd's method, vectorised: each of the four candidate formulas is computed and the one
    with the largest (best-conditioned) denominator is picked per matrix.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    diag = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    s = 2 * torch.sqrt(diag.clamp_min(1e-12))
    cands = torch.stack([
        torch.stack([s[..., 0] / 4, (m21 - m12) / s[..., 0], (m02 - m20) / s[..., 0], (m10 - m01) / s[..., 0]], -1),
        torch.stack([(m21 - m12) / s[..., 1], s[..., 1] / 4, (m01 + m10) / s[..., 1], (m02 + m20) / s[..., 1]], -1),
        torch.stack([(m02 - m20) / s[..., 2], (m01 + m10) / s[..., 2], s[..., 2] / 4, (m12 + m21) / s[..., 2]], -1),
        torch.stack([(m10 - m01) / s[..., 3], (m02 + m20) / s[..., 3], (m12 + m21) / s[..., 3], s[..., 3] / 4], -1),
    ], dim=-2)  # (..., 4 candidates, 4)
    best = diag.argmax(-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = F.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def matrix_to_rot6d(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) → (..., 6): the first two columns, column after column."""
    return torch.cat([m[..., :, 0], m[..., :, 1]], dim=-1)


def rot6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) → (..., 3, 3) by Gram–Schmidt; any input (even unnormalised) gives a rotation."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def quat_to_rot6d(q: torch.Tensor) -> torch.Tensor:
    return matrix_to_rot6d(quat_to_matrix(q))


def rot6d_to_quat(d6: torch.Tensor) -> torch.Tensor:
    return matrix_to_quat(rot6d_to_matrix(d6))


def pose7_to_pose9(pose: torch.Tensor) -> torch.Tensor:
    """(..., 7) ``[x, y, z, qw, qx, qy, qz]`` → (..., 9) position + 6-D rotation."""
    return torch.cat([pose[..., :3], quat_to_rot6d(pose[..., 3:7])], dim=-1)


def pose9_to_pose7(pose9: torch.Tensor) -> torch.Tensor:
    """(..., 9) position + 6-D rotation → (..., 7) position + unit quaternion (w ≥ 0)."""
    return torch.cat([pose9[..., :3], rot6d_to_quat(pose9[..., 3:9])], dim=-1)
