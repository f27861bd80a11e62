"""The safety filter: the last thing between any command (teleop, policy, script) and any robot.

Every control tick (100 Hz or faster) it turns a requested target pose + gripper, or the absence
of one, into a command that is guaranteed to be finite, inside the workspace box, and within the
limits on linear and angular speed and acceleration and on gripper range and rate. It knows
nothing of where commands come from, so teleoperation and learned policies get the same limits.

Why it is built this way:

* The guarantees are invariants of the filter's own state, not hopes about its input. The state
  is the last commanded pose and its velocity; each tick the velocity may change by at most
  ``max_accel·dt`` and never exceed ``max_speed``. The workspace is enforced with a braking
  invariant: from every commanded state, braking at ``max_accel`` along the current velocity stops
  inside the box. Braking always keeps that invariant, so a new velocity is chosen on the segment
  from "brake" to "what was asked" (largest feasible fraction, found by bisection). A plain clip of
  the position at the wall would stop the arm in one tick, which is an unbounded acceleration.
* "No command" (empty or stale buffer, lost device), a non-finite or degenerate command, and an
  emergency stop all mean the same motion: brake to a standstill at the allowed deceleration and
  hold there, gripper unchanged. The e-stop is latched until `release_estop` is called.
* The maths is vectorised over a leading batch axis (`filter_step`), so the fuzz test drives
  10,000 random chunks through exactly this code in a few seconds, and the single-robot
  `SafetyFilter` is the same function with a batch of one.
* Interventions are counted by kind, as events (a run of consecutive ticks in which a limiter
  changed the command counts once), so the count does not depend on the controller rate. Smooth
  limiters (speed, acceleration, gripper rate) only count when they moved the command away from
  the request by more than a tolerance; holds, non-finite input, workspace clips and e-stops
  always count.

Pure numpy: no Qt, no torch, no simulator import.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from devices.geometry import quat_conj, quat_mul
from devices.robot import Action, Robot

# Kinds of intervention, in the order the documentation lists them.
INTERVENTION_KINDS = (
    "workspace", "speed", "accel", "angular_speed", "angular_accel", "gripper_range", "gripper_rate",
    "nonfinite", "empty", "stale", "source_lost", "estop",
)
HOLD_REASONS = ("empty", "stale", "source_lost")
# Approaching a target, plan the stop with 90 % of the allowed deceleration: the rest absorbs the
# discretisation, so the filter's own braking never trips its acceleration limit.
PROFILE_DECEL = 0.9


@dataclass(frozen=True)
class SafetyLimits:
    """Hard limits on every command sent to the robot (base frame, SI units).

    Defaults suit the embedded station and a typical 7-DoF arm used for table-top teaching (they
    are well inside a Franka Panda's Cartesian limits of 1.7 m/s, 13 m/s², 2.5 rad/s, 25 rad/s²),
    and leave the scripted experts (0.25 m/s, 2 rad/s) untouched.
    """

    workspace_low: tuple[float, float, float] = (0.15, -0.38, -0.01)
    workspace_high: tuple[float, float, float] = (0.85, 0.38, 0.45)
    max_speed: float = 0.5  # m/s
    max_accel: float = 8.0  # m/s²
    max_angular_speed: float = 2.5  # rad/s
    max_angular_accel: float = 25.0  # rad/s²
    gripper_range: tuple[float, float] = (0.0, 1.0)
    max_gripper_rate: float = 10.0  # full stroke per second (a whole stroke in one 10 Hz step)
    # How far (m, rad, gripper units) a smooth limiter must move the command before it counts.
    count_position_tol: float = 0.005
    count_rotation_tol: float = 0.05
    count_gripper_tol: float = 0.05

    def __post_init__(self) -> None:
        low, high = np.asarray(self.workspace_low, float), np.asarray(self.workspace_high, float)
        if low.shape != (3,) or high.shape != (3,) or not np.all(np.isfinite(low)) or not np.all(low <= high):
            raise ValueError(f"workspace box must be 3 finite lows <= highs, got {self.workspace_low} / {self.workspace_high}")
        for name in ("max_speed", "max_accel", "max_angular_speed", "max_angular_accel", "max_gripper_rate"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"safety limit {name} must be a positive number, got {v}")
        g0, g1 = self.gripper_range
        if not (np.isfinite(g0) and np.isfinite(g1) and g0 <= g1):
            raise ValueError(f"gripper range must be finite low <= high, got {self.gripper_range}")

    def with_workspace(self, low: tuple[float, float, float], high: tuple[float, float, float]) -> "SafetyLimits":
        return replace(self, workspace_low=tuple(map(float, low)), workspace_high=tuple(map(float, high)))


def limits_for(robot: Robot, base: SafetyLimits | None = None) -> SafetyLimits:
    """The safety limits for ``robot``: ``base`` (the defaults) bounded by the robot's own workspace
    box. The one place every controller's limits come from, whoever builds the controller."""
    limits = base or SafetyLimits()
    box = robot.workspace_box
    return limits if box is None else limits.with_workspace(*box)


@dataclass
class FilterState:
    """The filter's memory for a batch of B robots: last command, its velocities, last request."""

    position: np.ndarray  # (B, 3) commanded position
    velocity: np.ndarray  # (B, 3) m/s of the commanded position
    quat: np.ndarray  # (B, 4) commanded orientation, unit, scalar first
    angular_velocity: np.ndarray  # (B, 3) rad/s, world frame
    gripper: np.ndarray  # (B,)
    last_target_position: np.ndarray  # (B, 3) last valid request (for its velocity feed-forward)
    last_target_quat: np.ndarray  # (B, 4)
    has_last_target: np.ndarray  # (B,) bool

    @classmethod
    def at_rest(cls, pose: np.ndarray, gripper: np.ndarray, limits: SafetyLimits) -> "FilterState":
        """Start holding ``pose`` (B, 7) / ``gripper`` (B,), projected into the limits."""
        pose = np.atleast_2d(np.asarray(pose, dtype=float))
        b = pose.shape[0]
        pos = np.clip(np.nan_to_num(pose[:, :3], nan=0.0, posinf=0.0, neginf=0.0),
                      limits.workspace_low, limits.workspace_high)
        quat, ok = safe_unit_quat(pose[:, 3:7])
        quat[~ok] = np.array([1.0, 0.0, 0.0, 0.0])
        g = np.nan_to_num(np.broadcast_to(np.asarray(gripper, dtype=float), (b,)).copy(), nan=limits.gripper_range[0])
        g = np.clip(g, *limits.gripper_range)
        return cls(pos, np.zeros((b, 3)), quat, np.zeros((b, 3)), g, pos.copy(), quat.copy(), np.zeros(b, bool))

    def pose(self) -> np.ndarray:
        return np.concatenate([self.position, self.quat], axis=-1)


# -- rotation helpers on (B, ...) arrays, robust to junk ------------------------------------------

def safe_unit_quat(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit quaternions (w >= 0) and a mask of rows that were finite and non-degenerate.

    Divides by the largest component first, so 1e300-sized input normalises instead of overflowing.
    """
    q = np.asarray(q, dtype=float)
    finite = np.all(np.isfinite(q), axis=-1)
    q = np.where(finite[..., None], q, 0.0)
    scale = np.max(np.abs(q), axis=-1, keepdims=True)
    ok = finite & (scale[..., 0] > 1e-300)
    q = q / np.where(scale > 0, scale, 1.0)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    ok &= n[..., 0] > 1e-6
    q = q / np.where(n > 0, n, 1.0)
    q = np.where(q[..., :1] < 0, -q, q)
    return q, ok


def rotation_between(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """World-frame rotation vector (|r| <= pi) taking ``current`` to ``target`` (both unit)."""
    d = quat_mul(target, quat_conj(current))
    d = np.where(d[..., :1] < 0, -d, d)  # shortest arc
    s = np.linalg.norm(d[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(s, np.clip(d[..., 0], -1.0, 1.0))
    k = np.where(s > 1e-12, angle / np.where(s > 1e-12, s, 1.0), 2.0)
    return d[..., 1:] * k[..., None]


def rotvec_to_quat(r: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(r, axis=-1)
    k = np.where(angle > 1e-12, np.sin(0.5 * angle) / np.where(angle > 1e-12, angle, 1.0), 0.5)
    return np.concatenate([np.cos(0.5 * angle)[..., None], r * k[..., None]], axis=-1)


def _clip_norm(v: np.ndarray, limit: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Scale rows of v down to norm <= limit; also return which rows were scaled."""
    n = np.linalg.norm(v, axis=-1)
    limit = np.broadcast_to(np.asarray(limit, dtype=float), n.shape)
    over = n > limit
    scale = np.where(over, limit / np.where(n > 0, n, 1.0), 1.0)
    return v * scale[..., None], over


def braking_distance(speed: np.ndarray, decel: float, dt: float) -> np.ndarray:
    """Distance still covered when braking from ``speed`` by ``decel·dt`` per tick (discrete, exact)."""
    m = np.floor(speed / (decel * dt) + 1e-12)
    return dt * (m * speed - decel * dt * m * (m + 1) / 2)


def _stopping_speed(distance: np.ndarray, decel: float, dt: float) -> np.ndarray:
    """Largest speed v such that moving at v for a tick, then braking at ``decel``, stops within
    ``distance``: v·dt + braking_distance(v) <= distance (braking_distance is bounded by
    v²/2a − v·dt/2 + a·dt²/8, which gives this closed form)."""
    h = 0.5 * decel * dt
    brake = -h + np.sqrt(h * h + 2.0 * decel * np.maximum(distance - decel * dt * dt / 8.0, 0.0))
    return np.maximum(brake, np.minimum(distance / dt, decel * dt))  # the last small step: arrive, stop


def _brake_ok(position: np.ndarray, velocity: np.ndarray, low: np.ndarray, high: np.ndarray,
              decel: float, dt: float, tol: float = 1e-12) -> np.ndarray:
    """The workspace invariant for the state after moving with ``velocity`` for one tick."""
    p1 = position + velocity * dt
    s = np.linalg.norm(velocity, axis=-1)
    n = velocity / np.where(s > 0, s, 1.0)[..., None]
    stop = p1 + n * braking_distance(s, decel, dt)[..., None]
    inside = lambda x: np.all((x >= low - tol) & (x <= high + tol), axis=-1)  # noqa: E731
    return inside(p1) & inside(stop)


def _velocity_step(err: np.ndarray, feedforward: np.ndarray, current: np.ndarray, act: np.ndarray,
                   max_speed: float, max_accel: float, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The next velocity towards a request ``err`` away (position or rotation vector, rows where ``act``):
    reach the request next tick, but never faster than one can stop there (unless the request itself
    moves that fast, ``feedforward``), never above ``max_speed``, and change the velocity by at most
    ``max_accel``·dt. Returns (velocity, speed-limited rows, accel-limited rows)."""
    feedforward, _ = _clip_norm(feedforward, max_speed)
    cap = np.maximum(_stopping_speed(np.linalg.norm(err, axis=1), PROFILE_DECEL * max_accel, dt),
                     np.linalg.norm(feedforward, axis=1))
    v_des, _ = _clip_norm(err / dt, cap)
    v_des, speed = _clip_norm(v_des, max_speed)
    v_des = np.where(act[:, None], v_des, 0.0)
    u, accel = _clip_norm(v_des - current, max_accel * dt)
    return current + u, speed, accel


# -- the filter ------------------------------------------------------------------------------------

def filter_step(state: FilterState, target_pose: np.ndarray, target_gripper: np.ndarray, present: np.ndarray,
                limits: SafetyLimits, dt: float, force_hold: np.ndarray | None = None,
                ) -> tuple[FilterState, dict[str, np.ndarray]]:
    """Advance the filter one tick of ``dt`` seconds for a batch of B robots.

    ``target_pose`` (B, 7), ``target_gripper`` (B,), ``present`` (B,) False where there is no
    request (hold). ``force_hold`` (B,) brakes and holds whatever is requested (e-stop).
    Returns the new state (its pose and gripper are the commands to send) and per-row flags, one
    bool array per intervention kind this function can detect (holds for a missing request are
    reported by the caller, which knows why it had none).
    """
    b = state.position.shape[0]
    low, high = np.asarray(limits.workspace_low, float), np.asarray(limits.workspace_high, float)
    A, V = limits.max_accel, limits.max_speed
    AA, W = limits.max_angular_accel, limits.max_angular_speed
    target_pose = np.asarray(target_pose, dtype=float).reshape(b, 7)
    target_gripper = np.asarray(target_gripper, dtype=float).reshape(b)
    present = np.asarray(present, dtype=bool).reshape(b)
    hold = np.zeros(b, bool) if force_hold is None else np.asarray(force_hold, bool).reshape(b)

    # 1. Validity: anything non-finite or a degenerate quaternion means "hold".
    tq, q_ok = safe_unit_quat(target_pose[:, 3:7])
    pos_finite = np.all(np.isfinite(target_pose[:, :3]), axis=1)
    valid = present & pos_finite & q_ok & np.isfinite(target_gripper)
    nonfinite = present & ~valid
    act = valid & ~hold  # rows that track a request this tick

    # 2. The request, projected into the workspace and the gripper range.
    raw_p = np.where(act[:, None], target_pose[:, :3], 0.0)
    tp = np.clip(raw_p, low, high)
    workspace = act & np.any(np.abs(tp - raw_p) > 1e-9, axis=1)
    raw_g = np.where(act, target_gripper, 0.0)
    tg = np.clip(raw_g, *limits.gripper_range)
    gripper_range = act & (np.abs(tg - raw_g) > 1e-9)

    # 3. Linear velocity (see `_velocity_step`).
    p, v = state.position, state.velocity
    vt = np.where((act & state.has_last_target)[:, None], (tp - state.last_target_position) / dt, 0.0)
    v1, speed, accel = _velocity_step(tp - p, vt, v, act, V, A, dt)
    # 4. Workspace invariant: pick the largest step from braking (w0, always safe) towards v1.
    sp = np.linalg.norm(v, axis=1)
    w0 = v * (np.maximum(sp - A * dt, 0.0) / np.where(sp > 0, sp, 1.0))[:, None]
    ok1 = _brake_ok(p, v1, low, high, A, dt)
    v_new = v1.copy()
    need = ~ok1
    if np.any(need):
        lo_t = np.zeros(int(need.sum()))
        hi_t = np.ones_like(lo_t)
        a0, a1, pp = w0[need], v1[need], p[need]
        for _ in range(30):
            mid = 0.5 * (lo_t + hi_t)
            ok = _brake_ok(pp, a0 + mid[:, None] * (a1 - a0), low, high, A, dt)
            lo_t = np.where(ok, mid, lo_t)
            hi_t = np.where(ok, hi_t, mid)
        v_new[need] = a0 + lo_t[:, None] * (a1 - a0)
    braked_for_workspace = act & need
    p_new = np.clip(p + v_new * dt, low, high)  # only ever moves it by rounding error
    v_new = (p_new - p) / dt

    # 5. Angular velocity, the same way (no workspace for orientation).
    q, w = state.quat, state.angular_velocity
    rerr = np.where(act[:, None], rotation_between(tq, q), 0.0)
    wt = np.where((act & state.has_last_target)[:, None], rotation_between(tq, state.last_target_quat) / dt, 0.0)
    w_new, ang_speed, ang_accel = _velocity_step(rerr, wt, w, act, W, AA, dt)
    q_new, _ = safe_unit_quat(quat_mul(rotvec_to_quat(w_new * dt), q))

    # 6. Gripper: range, then rate; held where there is no valid request.
    dg = np.clip(tg - state.gripper, -limits.max_gripper_rate * dt, limits.max_gripper_rate * dt)
    g_rate = act & (np.abs(dg - (tg - state.gripper)) > 1e-12)
    g_new = np.where(act, state.gripper + dg, state.gripper)
    g_new = np.clip(g_new, *limits.gripper_range)

    new = FilterState(
        position=p_new, velocity=v_new, quat=q_new, angular_velocity=w_new, gripper=g_new,
        last_target_position=np.where(act[:, None], tp, state.last_target_position),
        last_target_quat=np.where(act[:, None], tq, state.last_target_quat),
        has_last_target=act,  # after a hold, the feed-forward starts again from rest
    )
    # Smooth limiters count only when they moved the command materially away from the request.
    far_p = act & (np.linalg.norm(tp - p_new, axis=1) > limits.count_position_tol)
    far_r = act & (np.linalg.norm(rotation_between(tq, q_new), axis=1) > limits.count_rotation_tol)
    far_g = act & (np.abs(tg - g_new) > limits.count_gripper_tol)
    flags = {
        "workspace": workspace | (braked_for_workspace & far_p), "speed": act & speed & far_p, "accel": act & accel & far_p,
        "angular_speed": act & ang_speed & far_r, "angular_accel": act & ang_accel & far_r,
        "gripper_range": gripper_range, "gripper_rate": g_rate & far_g, "nonfinite": nonfinite,
    }
    return new, flags



# -- the same filter for one robot, in plain floats --------------------------------------------------
# numpy costs ~1 µs per call on 3-vectors, which made the batched filter ~1 ms per tick for one
# robot; these few lines of float arithmetic take a few tens of µs. They mirror `filter_step`
# line by line and tests/test_safety_filter.py checks the two agree on random and hostile input,
# so the fuzz test's guarantees for `filter_step` hold for `SafetyFilter` too.

def _n3(x: float, y: float, z: float) -> float:
    return math.sqrt(x * x + y * y + z * z)


def _clip3(v: tuple[float, float, float], limit: float) -> tuple[tuple[float, float, float], bool]:
    n = _n3(*v)
    if n > limit:
        k = limit / n
        return (v[0] * k, v[1] * k, v[2] * k), True
    return v, False


def _unit4(q) -> tuple[float, float, float, float] | None:
    w, x, y, z = q[0], q[1], q[2], q[3]
    if not (math.isfinite(w) and math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
        return None
    s = max(abs(w), abs(x), abs(y), abs(z))
    if not s > 1e-300:
        return None
    w, x, y, z = w / s, x / s, y / s, z / s
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not n > 1e-6:
        return None
    w, x, y, z = w / n, x / n, y / n, z / n
    return (-w, -x, -y, -z) if w < 0 else (w, x, y, z)


def _qmul4(a, b) -> tuple[float, float, float, float]:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


def _rot_between4(t, c) -> tuple[float, float, float]:
    dw, dx, dy, dz = _qmul4(t, (c[0], -c[1], -c[2], -c[3]))
    if dw < 0:
        dw, dx, dy, dz = -dw, -dx, -dy, -dz
    s = _n3(dx, dy, dz)
    angle = 2.0 * math.atan2(s, min(max(dw, -1.0), 1.0))
    k = angle / s if s > 1e-12 else 2.0
    return dx * k, dy * k, dz * k


def _rotvec_quat4(r) -> tuple[float, float, float, float]:
    angle = _n3(*r)
    k = math.sin(0.5 * angle) / angle if angle > 1e-12 else 0.5
    return math.cos(0.5 * angle), r[0] * k, r[1] * k, r[2] * k


def _braking_distance1(speed: float, decel: float, dt: float) -> float:
    m = math.floor(speed / (decel * dt) + 1e-12)
    return dt * (m * speed - decel * dt * m * (m + 1) / 2)


def _stopping_speed1(distance: float, decel: float, dt: float) -> float:
    h = 0.5 * decel * dt
    brake = -h + math.sqrt(h * h + 2.0 * decel * max(distance - decel * dt * dt / 8.0, 0.0))
    return max(brake, min(distance / dt, decel * dt))


def _brake_ok1(p, v, low, high, decel: float, dt: float, tol: float = 1e-12) -> bool:
    vx, vy, vz = v
    x1, y1, z1 = p[0] + vx * dt, p[1] + vy * dt, p[2] + vz * dt
    s = math.sqrt(vx * vx + vy * vy + vz * vz)
    d = _braking_distance1(s, decel, dt) / (s if s > 0 else 1.0)
    x2, y2, z2 = x1 + vx * d, y1 + vy * d, z1 + vz * d
    lx, ly, lz = low[0] - tol, low[1] - tol, low[2] - tol
    hx, hy, hz = high[0] + tol, high[1] + tol, high[2] + tol
    return (lx <= x1 <= hx and ly <= y1 <= hy and lz <= z1 <= hz
            and lx <= x2 <= hx and ly <= y2 <= hy and lz <= z2 <= hz)


def _velocity_step1(err, feedforward, current, act: bool, max_speed: float, max_accel: float,
                    dt: float) -> tuple[tuple[float, float, float], bool, bool]:
    """`_velocity_step` for one robot (``err`` and ``feedforward`` are not read unless ``act``)."""
    v_des, speed = (0.0, 0.0, 0.0), False
    if act:
        feedforward = _clip3(feedforward, max_speed)[0]
        cap = max(_stopping_speed1(_n3(*err), PROFILE_DECEL * max_accel, dt), _n3(*feedforward))
        v_des, _ = _clip3((err[0] / dt, err[1] / dt, err[2] / dt), cap)
        v_des, speed = _clip3(v_des, max_speed)
    u, accel = _clip3((v_des[0] - current[0], v_des[1] - current[1], v_des[2] - current[2]), max_accel * dt)
    return (current[0] + u[0], current[1] + u[1], current[2] + u[2]), speed, accel


@dataclass
class _OneState:
    p: tuple[float, float, float]
    v: tuple[float, float, float]
    q: tuple[float, float, float, float]
    w: tuple[float, float, float]
    g: float
    ltp: tuple[float, float, float]
    ltq: tuple[float, float, float, float]
    has_lt: bool

    @classmethod
    def from_batch(cls, s: FilterState) -> "_OneState":
        t = lambda a: tuple(float(x) for x in a[0])  # noqa: E731
        return cls(t(s.position), t(s.velocity), t(s.quat), t(s.angular_velocity), float(s.gripper[0]),
                   t(s.last_target_position), t(s.last_target_quat), bool(s.has_last_target[0]))

    def to_batch(self) -> FilterState:
        a = lambda x: np.array([x], dtype=float)  # noqa: E731
        return FilterState(a(self.p), a(self.v), a(self.q), a(self.w), np.array([self.g]), a(self.ltp), a(self.ltq),
                           np.array([self.has_lt]))


def _filter_step_one(s: _OneState, pose, grip: float, present: bool, hold: bool, limits: SafetyLimits,
                     dt: float) -> tuple[_OneState, set[str]]:
    """`filter_step` for a single robot (see there)."""
    low, high = limits.workspace_low, limits.workspace_high
    A, V = limits.max_accel, limits.max_speed
    AA, W = limits.max_angular_accel, limits.max_angular_speed
    g0, g1 = limits.gripper_range
    flags: set[str] = set()
    tq = None
    valid = False
    if present:
        raw = [float(c) for c in pose[:3]]
        tq = _unit4(pose[3:7])
        valid = tq is not None and all(math.isfinite(c) for c in raw) and math.isfinite(grip)
        if not valid:
            flags.add("nonfinite")
    act = valid and not hold
    p, v, q, w, g = s.p, s.v, s.q, s.w, s.g
    zero = (0.0, 0.0, 0.0)
    err = vt = zero
    if act:
        tp = tuple(min(max(raw[i], low[i]), high[i]) for i in range(3))
        if any(abs(tp[i] - raw[i]) > 1e-9 for i in range(3)):
            flags.add("workspace")
        tg = min(max(float(grip), g0), g1)
        if abs(tg - grip) > 1e-9:
            flags.add("gripper_range")
        err = (tp[0] - p[0], tp[1] - p[1], tp[2] - p[2])
        vt = tuple((tp[i] - s.ltp[i]) / dt for i in range(3)) if s.has_lt else zero
    v1, speed, accel = _velocity_step1(err, vt, v, act, V, A, dt)
    need = not _brake_ok1(p, v1, low, high, A, dt)
    v_new = v1
    if need:
        sp = _n3(*v)
        k0 = max(sp - A * dt, 0.0) / (sp if sp > 0 else 1.0)
        a0 = (v[0] * k0, v[1] * k0, v[2] * k0)
        lo_t, hi_t = 0.0, 1.0
        for _ in range(30):
            mid = 0.5 * (lo_t + hi_t)
            if _brake_ok1(p, tuple(a0[i] + mid * (v1[i] - a0[i]) for i in range(3)), low, high, A, dt):
                lo_t = mid
            else:
                hi_t = mid
        v_new = tuple(a0[i] + lo_t * (v1[i] - a0[i]) for i in range(3))
    p_new = tuple(min(max(p[i] + v_new[i] * dt, low[i]), high[i]) for i in range(3))
    v_new = tuple((p_new[i] - p[i]) / dt for i in range(3))

    rerr = wt = zero
    if act:
        rerr = _rot_between4(tq, q)
        wt = tuple(c / dt for c in _rot_between4(tq, s.ltq)) if s.has_lt else zero
    w_new, ang_speed, ang_accel = _velocity_step1(rerr, wt, w, act, W, AA, dt)
    q_new = _unit4(_qmul4(_rotvec_quat4((w_new[0] * dt, w_new[1] * dt, w_new[2] * dt)), q))

    g_rate = False
    g_new = g
    if act:
        d = tg - g
        r = limits.max_gripper_rate * dt
        dg = min(max(d, -r), r)
        g_rate = abs(dg - d) > 1e-12
        g_new = g + dg
    g_new = min(max(g_new, g0), g1)

    new = _OneState(p_new, v_new, q_new, w_new, g_new, tp if act else s.ltp, tq if act else s.ltq, act)
    if act:
        far_p = _n3(*(tp[i] - p_new[i] for i in range(3))) > limits.count_position_tol
        far_r = _n3(*_rot_between4(tq, q_new)) > limits.count_rotation_tol
        far_g = abs(tg - g_new) > limits.count_gripper_tol
        for kind, hit in (("workspace", need and far_p), ("speed", speed and far_p), ("accel", accel and far_p),
                          ("angular_speed", ang_speed and far_r), ("angular_accel", ang_accel and far_r),
                          ("gripper_rate", g_rate and far_g)):
            if hit:
                flags.add(kind)
    return new, flags


@dataclass
class SafetyFilter:
    """One robot's safety filter: `step` each control tick, e-stop latch, intervention counts."""

    limits: SafetyLimits = field(default_factory=SafetyLimits)
    interventions: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._state: _OneState | None = None
        self._estopped = False
        self._active: set[str] = set()
        self._had_request = False

    # -- life cycle ------------------------------------------------------------------------------
    def reset(self, current: Action) -> Action:
        """Start from the robot's current command (or pose), at rest. Returns the first command."""
        batch = FilterState.at_rest(current.ee_pose[None], np.array([current.gripper]), self.limits)
        self._state = _OneState.from_batch(batch)
        self._active = set()
        self._had_request = False
        return self.command

    @property
    def is_ready(self) -> bool:
        return self._state is not None

    @property
    def state(self) -> FilterState:
        """The filter's memory as a batch of one (for views and tests)."""
        return self._require_state().to_batch()

    @property
    def command(self) -> Action:
        s = self._require_state()
        return Action(np.array(s.p + s.q), s.g)

    @property
    def velocity(self) -> np.ndarray:
        return np.array(self._require_state().v)

    @property
    def angular_velocity(self) -> np.ndarray:
        return np.array(self._require_state().w)

    # -- emergency stop --------------------------------------------------------------------------
    def estop(self) -> None:
        """Brake to a standstill and ignore every request until `release_estop` (latched)."""
        self._estopped = True

    def release_estop(self) -> None:
        self._estopped = False

    @property
    def estopped(self) -> bool:
        return self._estopped

    # -- the tick ----------------------------------------------------------------------------------
    def step(self, target: Action | None, dt: float, hold_reason: str = "empty") -> Action:
        """The command to send now, given the requested ``target`` (None: hold, for ``hold_reason``)."""
        state = self._require_state()
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"control period must be positive, got {dt}")
        if target is None:
            if hold_reason not in HOLD_REASONS:
                raise ValueError(f"unknown hold reason {hold_reason!r}; known: {', '.join(HOLD_REASONS)}")
            self._state, active = _filter_step_one(state, (), 0.0, False, self._estopped, self.limits, dt)
        else:
            pose = target.ee_pose.tolist()
            self._state, active = _filter_step_one(state, pose, target.gripper, True, self._estopped, self.limits, dt)
        if self._estopped:
            active = {"estop"}
        elif target is None:
            # Idling before the first request is not an intervention; losing the requests is.
            if self._had_request:
                active.add(hold_reason)
        else:
            self._had_request = True
        for kind in active - self._active:
            self.interventions[kind] += 1
        self._active = active
        return self.command

    def _require_state(self) -> _OneState:
        if self._state is None:
            raise RuntimeError("safety filter used before reset(current pose)")
        return self._state
