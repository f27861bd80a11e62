"""Scalar quaternion and 3x3 helpers for one pose at a time (scalar-first ``(w, x, y, z)`` tuples).

``devices.geometry`` works on numpy arrays and batches; for a single pose each of its calls costs
microseconds of numpy overhead, which adds up on the teleop path (device event → target, budget
5 ms at p99) and in the 1 kHz haptic loop. These do the same arithmetic on plain floats, several
times faster; ``tests/test_teleop_quat.py`` checks them against ``devices.geometry``.
"""

from __future__ import annotations

import math
from typing import Sequence

Quat = tuple[float, float, float, float]
Vec3 = tuple[float, float, float]
Mat3 = tuple[Vec3, Vec3, Vec3]


def q_mul(a: Sequence[float], b: Sequence[float]) -> Quat:
    """Hamilton product a ⊗ b (apply b first, then a)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw)


def q_conj(q: Sequence[float]) -> Quat:
    return (q[0], -q[1], -q[2], -q[3])


def q_normalize(q: Sequence[float]) -> Quat:
    """Unit quaternion with non-negative w (so equal rotations compare equal)."""
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    if n == 0.0:
        return (1.0, 0.0, 0.0, 0.0)
    k = (-1.0 if q[0] < 0 else 1.0) / n
    return (q[0] * k, q[1] * k, q[2] * k, q[3] * k)


def rotvec_to_q(v: Sequence[float]) -> Quat:
    angle = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    k = math.sin(0.5 * angle) / angle if angle > 1e-12 else 0.5
    return (math.cos(0.5 * angle), v[0] * k, v[1] * k, v[2] * k)


def q_to_rotvec(q: Sequence[float]) -> Vec3:
    """Axis-angle vector (radians) of the shortest rotation equal to q."""
    w, x, y, z = q_normalize(q)
    s = math.sqrt(x * x + y * y + z * z)
    k = 2.0 * math.atan2(s, w) / s if s > 1e-12 else 2.0
    return (x * k, y * k, z * k)


def mat_vec(m: Sequence[Sequence[float]], v: Sequence[float]) -> Vec3:
    return (m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
            m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
            m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2])


def matrix_to_q(m: Sequence[Sequence[float]]) -> Quat:
    """Unit quaternion (w ≥ 0) of a 3x3 rotation matrix given as rows."""
    (a, b, c), (d, e, f), (g, h, i) = m
    tr = a + e + i
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        q = (0.25 * s, (h - f) / s, (c - g) / s, (d - b) / s)
    elif a > e and a > i:
        s = math.sqrt(1.0 + a - e - i) * 2
        q = ((h - f) / s, 0.25 * s, (b + d) / s, (c + g) / s)
    elif e > i:
        s = math.sqrt(1.0 + e - a - i) * 2
        q = ((c - g) / s, (b + d) / s, 0.25 * s, (f + h) / s)
    else:
        s = math.sqrt(1.0 + i - a - e) * 2
        q = ((d - b) / s, (c + g) / s, (f + h) / s, 0.25 * s)
    return q_normalize(q)
