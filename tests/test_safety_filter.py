"""The safety filter and the low-level controller: limits, holds, e-stop, counting, one code path."""

import numpy as np
import pytest
from runtime_fakes import HOME, KinematicRobot

from devices.control import LatestTargetSource, NoSetpoint, SafetyController, interpolate_pose, interpolate_pose_one
from devices.robot import Action
from devices.safety import (
    FilterState,
    SafetyFilter,
    SafetyLimits,
    _filter_step_one,
    _OneState,
    filter_step,
    rotation_between,
)

DT = 0.01


def act(pos, gripper=0.0, quat=(0, 1, 0, 0)):
    return Action(np.concatenate([pos, quat]), gripper)


def run(filt, target, ticks, reason="empty"):
    out = []
    for _ in range(ticks):
        out.append(filt.step(target, DT, reason))
    return out


def fresh(limits=None, pose=HOME, gripper=0.0):
    f = SafetyFilter(limits or SafetyLimits())
    f.reset(Action(pose, gripper))
    return f


def test_a_step_target_is_reached_smoothly_within_speed_and_accel():
    lim = SafetyLimits()
    f = fresh(lim)
    goal = HOME[:3] + [0.2, 0.0, 0.0]
    cmds = run(f, act(goal), 150)
    p = np.array([c.position for c in cmds])
    v = np.diff(np.vstack([HOME[:3], p]), axis=0) / DT
    assert np.linalg.norm(v, axis=1).max() <= lim.max_speed + 1e-9
    assert np.linalg.norm(np.diff(np.vstack([np.zeros(3), v]), axis=0), axis=1).max() <= lim.max_accel * DT + 1e-9
    assert np.linalg.norm(v, axis=1).max() > 0.99 * lim.max_speed  # it did go as fast as allowed
    np.testing.assert_allclose(p[-1], goal, atol=1e-6)  # and arrived, without overshoot
    assert p[:, 0].max() <= goal[0] + 1e-6
    assert f.interventions["speed"] == 1 and f.interventions["accel"] == 1  # events, not ticks


def test_a_smooth_slow_target_passes_untouched():
    f = fresh()
    for k in range(1, 200):
        target = act(HOME[:3] + [0.0005 * k, 0, 0])  # 5 cm/s ramp
        out = f.step(target, DT)
    assert np.linalg.norm(out.position - target.position) < 1e-3
    assert sum(f.interventions.values()) == 0


def test_workspace_box_is_never_left_and_the_clip_is_counted():
    lim = SafetyLimits()
    f = fresh(lim)
    cmds = run(f, act([5.0, -5.0, -1.0]), 400)
    p = np.array([c.position for c in cmds])
    assert np.all(p >= np.array(lim.workspace_low) - 1e-12) and np.all(p <= np.array(lim.workspace_high) + 1e-12)
    np.testing.assert_allclose(p[-1], [lim.workspace_high[0], lim.workspace_low[1], lim.workspace_low[2]], atol=1e-6)
    assert f.interventions["workspace"] == 1


@pytest.mark.parametrize("bad", [
    Action(np.array([np.nan, 0, 0.2, 0, 1, 0, 0]), 0.0),
    Action(np.array([0.5, 0, 0.2, np.inf, 1, 0, 0]), 0.0),
    Action(np.array([0.5, 0, 0.2, 0, 0, 0, 0]), 0.0),  # no rotation at all
    Action(HOME, float("nan")),
])
def test_non_finite_or_degenerate_commands_brake_to_a_hold(bad):
    f = fresh()
    run(f, act(HOME[:3] + [0.2, 0, 0]), 30)  # moving at speed
    assert np.linalg.norm(f.velocity) > 0.1
    held = run(f, bad, 100)
    assert np.linalg.norm(f.velocity) == 0.0
    assert np.allclose(held[-1].position, held[-2].position)
    assert all(c.is_finite() for c in held)
    assert f.interventions["nonfinite"] == 1


def test_no_request_holds_and_counts_only_after_requests_began():
    f = fresh()
    run(f, None, 10, "empty")  # idle before the first command: not an intervention
    assert sum(f.interventions.values()) == 0
    run(f, act(HOME[:3] + [0.01, 0, 0]), 5)
    run(f, None, 10, "stale")
    run(f, None, 10, "source_lost")
    assert f.interventions["stale"] == 1 and f.interventions["source_lost"] == 1
    with pytest.raises(ValueError):
        f.step(None, DT, "whatever")


def test_emergency_stop_is_latched_until_released():
    f = fresh()
    goal = act(HOME[:3] + [0.2, 0, 0], gripper=1.0)
    run(f, goal, 20)
    f.estop()
    stopped = run(f, goal, 100)
    assert f.estopped and np.linalg.norm(f.velocity) == 0.0
    assert np.linalg.norm(stopped[-1].position - goal.position) > 0.05  # it did not go on
    assert f.interventions["estop"] == 1
    f.release_estop()
    resumed = run(f, goal, 200)
    np.testing.assert_allclose(resumed[-1].position, goal.position, atol=1e-6)


def test_gripper_range_and_rate():
    lim = SafetyLimits(max_gripper_rate=2.0)
    f = fresh(lim)
    g = [c.gripper for c in run(f, act(HOME[:3], gripper=7.0), 80)]
    assert max(g) == 1.0 and np.max(np.diff([0.0] + g)) <= 2.0 * DT + 1e-12
    assert f.interventions["gripper_range"] == 1 and f.interventions["gripper_rate"] == 1


def test_angular_speed_is_limited():
    lim = SafetyLimits()
    f = fresh(lim)
    q_target = np.array([0.0, 0.0, 1.0, 0.0])  # 180° about z from HOME
    cmds = run(f, Action(np.concatenate([HOME[:3], q_target]), 0.0), 300)
    q = np.array([c.quat for c in cmds])
    w = np.linalg.norm(rotation_between(q[1:], q[:-1]), axis=1) / DT
    assert w.max() <= lim.max_angular_speed * (1 + 1e-6) and w.max() > 0.9 * lim.max_angular_speed
    assert np.linalg.norm(rotation_between(q[-1], q_target)) < 1e-3


def test_limits_are_validated():
    with pytest.raises(ValueError):
        SafetyLimits(max_speed=0)
    with pytest.raises(ValueError):
        SafetyLimits(workspace_low=(1, 0, 0), workspace_high=(0, 1, 1))
    with pytest.raises(ValueError):
        SafetyLimits(gripper_range=(1.0, 0.0))


def test_single_robot_path_matches_the_batched_filter_the_fuzz_test_checks():
    """SafetyFilter's float path and filter_step must agree, so the fuzz guarantees carry over."""
    lim = SafetyLimits()
    rng = np.random.default_rng(7)
    batch = FilterState.at_rest(HOME[None], np.array([0.3]), lim)
    one = _OneState.from_batch(batch)
    for k in range(1500):
        pose = np.concatenate([np.array([0.5, 0.0, 0.2]) + rng.normal(0, 0.4, 3), rng.normal(size=4)])
        grip = rng.uniform(-1, 2)
        if k % 97 == 0:
            pose[rng.integers(7)] = rng.choice([np.nan, np.inf, 1e300])
        present, hold = bool(rng.random() > 0.05), bool(rng.random() < 0.03)
        batch, flags_b = filter_step(batch, pose[None], np.array([grip]), np.array([present]), lim, DT,
                                     force_hold=np.array([hold]))
        one, flags_o = _filter_step_one(one, pose.tolist(), grip, present, hold, lim, DT)
        b = _OneState.from_batch(batch)
        np.testing.assert_allclose(one.p, b.p, atol=1e-9)
        np.testing.assert_allclose(one.v, b.v, atol=1e-6)
        np.testing.assert_allclose(one.q, b.q, atol=1e-9)
        np.testing.assert_allclose(one.w, b.w, atol=1e-6)
        assert abs(one.g - b.g) < 1e-12
        assert flags_o == {k for k, f in flags_b.items() if f[0]}


def test_interpolation_linear_position_slerp_orientation():
    a = np.array([0.4, 0.0, 0.2, 1, 0, 0, 0, 0.0])
    b = np.array([0.6, 0.2, 0.2, np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4), 1.0])  # 90° about z
    mid = interpolate_pose(a, b, 0.5)
    np.testing.assert_allclose(mid[:3], [0.5, 0.1, 0.2])
    np.testing.assert_allclose(mid[3:7], [np.cos(np.pi / 8), 0, 0, np.sin(np.pi / 8)], atol=1e-12)
    assert mid[7] == 0.5
    for s in (0.0, 0.3, 1.0):
        np.testing.assert_allclose(interpolate_pose_one(a.tolist(), b.tolist(), s), interpolate_pose(a, b, s), atol=1e-12)
    assert np.isnan(interpolate_pose_one(a.tolist(), [np.nan] * 8, 0.5)[3])


# -- the controller ---------------------------------------------------------------------------------

class RaisingSource:
    def setpoint(self, now):
        raise OSError("HID read failed: device unplugged")


def test_controller_rate_must_be_at_least_100_hz():
    with pytest.raises(ValueError):
        SafetyController(KinematicRobot(), rate_hz=50)


def test_controller_holds_when_the_source_raises_and_counts_a_lost_source():
    robot = KinematicRobot()
    src = LatestTargetSource()
    ctrl = SafetyController(robot, src)
    ctrl.reset()
    for k in range(20):
        src.push(act(HOME[:3] + [0.1, 0, 0]), k * DT)
        ctrl.tick(k * DT)
    ctrl.source = RaisingSource()
    for k in range(20, 120):
        ctrl.tick(k * DT)
    assert ctrl.interventions["source_lost"] == 1
    assert np.allclose(robot.sent[-1].position, robot.sent[-2].position)  # stopped
    assert ctrl.filter.velocity.tolist() == [0.0, 0.0, 0.0]


def test_teleop_goes_through_the_same_limits_and_stale_or_lost_devices_hold():
    robot = KinematicRobot()
    src = LatestTargetSource(max_age_s=0.05)
    lim = SafetyLimits()
    ctrl = SafetyController(robot, src, lim)
    ctrl.reset()
    src.push(act(HOME[:3] + [0.3, 0, 0]), 0.0)  # a 30 cm jump from a teleop device
    for k in range(5):
        ctrl.tick(k * DT)
    steps = np.diff([a.position for a in robot.sent], axis=0)
    assert np.linalg.norm(steps, axis=1).max() <= lim.max_speed * DT + 1e-12
    for k in range(5, 40):  # no new sample for longer than max_age_s
        ctrl.tick(k * DT)
    assert ctrl.interventions["stale"] == 1
    src.mark_lost()
    assert src.setpoint(1.0) == NoSetpoint("source_lost")
    src.clear()
    assert src.setpoint(1.0) == NoSetpoint("empty")


def test_controller_listeners_see_what_the_robot_applied():
    robot = KinematicRobot()
    ctrl = SafetyController(robot, LatestTargetSource())
    seen = []
    ctrl.listeners.append(lambda now, a: seen.append((now, a)))
    ctrl.tick(0.0)
    assert seen and seen[0][1] is robot.sent[-1]
