"""Safety fuzz: 10,000 hostile chunks never make the filter command anything outside the limits.

The chunks are driven through the same interpolation (`interpolate_pose`) and the same filter
maths (`filter_step`) the controller uses, batched: 2,500 robots × 4 consecutive chunks, each
16 waypoints at 10 Hz interpolated to 100 Hz, with random holds (stale buffer) and e-stops.
"""

import numpy as np

from devices.control import interpolate_pose
from devices.safety import FilterState, SafetyLimits, filter_step, rotation_between

ROBOTS, CHUNKS_EACH, WAYPOINTS, SUBSTEPS = 2500, 4, 16, 10
DT = 0.01


def hostile_chunks(rng: np.random.Generator, n: int, limits: SafetyLimits) -> np.ndarray:
    """(n, WAYPOINTS, 8) chunks: sane, huge, NaN, inf, outside the box, too fast, bad quats/grippers."""
    low, high = np.array(limits.workspace_low), np.array(limits.workspace_high)
    centre, half = (low + high) / 2, (high - low) / 2
    chunks = np.empty((n, WAYPOINTS, 8))
    chunks[..., :3] = centre + half * rng.uniform(-1, 1, (n, WAYPOINTS, 3))
    q = rng.normal(size=(n, WAYPOINTS, 4))
    chunks[..., 3:7] = q / np.linalg.norm(q, axis=-1, keepdims=True)
    chunks[..., 7] = rng.uniform(0, 1, (n, WAYPOINTS))
    kind = rng.integers(0, 9, n)
    mask = lambda k: kind == k  # noqa: E731
    sel = rng.random((n, WAYPOINTS)) < 0.3
    chunks[mask(1)] *= 10.0 ** rng.uniform(3, 300, (mask(1).sum(), 1, 1)) * rng.choice([-1, 1], (mask(1).sum(), 1, 8))
    chunks[mask(2)[:, None] & sel, rng.integers(0, 8)] = np.nan
    chunks[mask(3)[:, None] & sel, rng.integers(0, 8)] = rng.choice([np.inf, -np.inf])
    chunks[mask(4), :, :3] = centre + half * rng.uniform(-4, 4, (mask(4).sum(), WAYPOINTS, 3))
    jumps = rng.uniform(-1, 1, (mask(5).sum(), WAYPOINTS, 3)) * np.where(np.arange(WAYPOINTS) % 2, 1.0, -1.0)[None, :, None]
    chunks[mask(5), :, :3] = centre + jumps * half  # bang-bang across the box every 0.1 s
    chunks[mask(6), :, 3:7] = rng.choice([0.0, 1e-320, 1e300], (mask(6).sum(), WAYPOINTS, 4))
    chunks[mask(7), :, 7] = rng.uniform(-50, 50, (mask(7).sum(), WAYPOINTS))
    chunks[mask(8), :, 3:7] *= np.where(np.arange(WAYPOINTS) % 2, 1.0, -1.0)[None, :, None]  # q/-q flips
    chunks[mask(8), 1::2, 3:7] = rng.normal(size=(mask(8).sum(), WAYPOINTS // 2, 4))  # big rotations
    return chunks


def test_ten_thousand_hostile_chunks_never_leave_the_limits():
    limits = SafetyLimits()
    rng = np.random.default_rng(1234)
    low, high = np.array(limits.workspace_low), np.array(limits.workspace_high)
    start = np.concatenate([low + (high - low) * rng.uniform(0, 1, (ROBOTS, 3)), np.tile([0, 1, 0, 0], (ROBOTS, 1))], 1)
    state = FilterState.at_rest(start, rng.uniform(0, 1, ROBOTS), limits)
    prev_v = np.zeros((ROBOTS, 3))
    prev_w = np.zeros((ROBOTS, 3))
    checked = 0
    seen: set[str] = set()
    for _ in range(CHUNKS_EACH):
        chunks = hostile_chunks(rng, ROBOTS, limits)
        stale = rng.random((ROBOTS, WAYPOINTS)) < 0.05
        estop = rng.random((ROBOTS, WAYPOINTS)) < 0.02
        for k in range((WAYPOINTS - 1) * SUBSTEPS):
            i, s = divmod(k, SUBSTEPS)
            with np.errstate(all="ignore"):  # the hostile input itself overflows when interpolated
                target = interpolate_pose(chunks[:, i], chunks[:, i + 1], np.full(ROBOTS, s / SUBSTEPS))
            old = state
            state, flags = filter_step(state, target[:, :7], target[:, 7], ~stale[:, i], limits, DT,
                                       force_hold=estop[:, i])
            seen |= {k for k, f in flags.items() if f.any()}
            # every command is finite
            assert np.all(np.isfinite(state.position)) and np.all(np.isfinite(state.quat))
            assert np.all(np.isfinite(state.gripper))
            # inside the box
            assert np.all(state.position >= low - 1e-12) and np.all(state.position <= high + 1e-12)
            # linear speed and acceleration, measured from consecutive commands
            v = (state.position - old.position) / DT
            assert np.all(np.linalg.norm(v, axis=1) <= limits.max_speed * (1 + 1e-9))
            assert np.all(np.linalg.norm(v - prev_v, axis=1) <= limits.max_accel * DT * (1 + 1e-6) + 1e-9)
            # angular speed and acceleration, from consecutive unit quaternions
            assert np.allclose(np.linalg.norm(state.quat, axis=1), 1.0)
            w = rotation_between(state.quat, old.quat) / DT
            assert np.all(np.linalg.norm(w, axis=1) <= limits.max_angular_speed * (1 + 1e-6))
            assert np.all(np.linalg.norm(w - prev_w, axis=1) <= limits.max_angular_accel * DT * (1 + 1e-4) + 1e-6)
            # gripper range and rate
            g0, g1 = limits.gripper_range
            assert np.all((state.gripper >= g0) & (state.gripper <= g1))
            assert np.all(np.abs(state.gripper - old.gripper) <= limits.max_gripper_rate * DT * (1 + 1e-9))
            prev_v, prev_w = v, w
            checked += ROBOTS
    assert checked == ROBOTS * CHUNKS_EACH * (WAYPOINTS - 1) * SUBSTEPS
    # the hostile input did exercise every limiter (the test is not vacuous)
    assert seen == {"workspace", "speed", "accel", "angular_speed", "angular_accel", "gripper_range", "gripper_rate",
                    "nonfinite"}


def test_fuzz_input_actually_reaches_the_limits():
    """Guard against a vacuous fuzz: bang-bang chunks drive speed and the box walls to their limits."""
    limits = SafetyLimits()
    n = 200
    low, high = np.array(limits.workspace_low), np.array(limits.workspace_high)
    state = FilterState.at_rest(np.tile([0.5, 0.0, 0.2, 0, 1, 0, 0], (n, 1)), np.zeros(n), limits)
    far = np.where(np.arange(n)[:, None] % 2, high + 1.0, low - 1.0)
    target = np.concatenate([far, np.tile([0, 1, 0, 0], (n, 1))], 1)
    speeds, flags_seen = [], set()
    for _ in range(300):
        old = state
        state, flags = filter_step(state, target, np.full(n, 5.0), np.ones(n, bool), limits, DT)
        speeds.append(np.linalg.norm(state.position - old.position, axis=1).max() / DT)
        flags_seen |= {k for k, f in flags.items() if f.any()}
    assert max(speeds) > 0.99 * limits.max_speed
    assert np.allclose(state.position[1], high, atol=1e-3) and np.allclose(state.position[0], low, atol=1e-3)
    assert {"workspace", "speed", "gripper_range"} <= flags_seen
