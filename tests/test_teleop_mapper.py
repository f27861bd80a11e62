"""The teleop mapper: deadzone, scaling, axis mapping, clutch, gripper, and holding on trouble."""

import numpy as np
import pytest

from devices.geometry import quat_conj, quat_mul, quat_to_rotvec, rotvec_to_quat
from devices.teleop import (
    ButtonAction,
    ClutchMode,
    DeviceStatus,
    MapperSettings,
    MotionMode,
    TeleopCommand,
    TeleopMapper,
)
from devices.teleop.frames import STATION_BASE_FROM_OPERATOR

HOME = np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0])
IDENTITY_MAP = tuple(tuple(r) for r in np.eye(3))


def delta(twist, t=0.0, **kw):
    return TeleopCommand(time=t, seq=1, device="test", mode=MotionMode.DELTA, twist=np.asarray(twist, float), **kw)


def absolute(pose, t=0.0, **kw):
    return TeleopCommand(time=t, seq=1, device="test", mode=MotionMode.ABSOLUTE,
                         pose=None if pose is None else np.asarray(pose, float), **kw)


def pose_at(xyz, rotvec=(0, 0, 0)):
    return np.concatenate([xyz, rotvec_to_quat(np.asarray(rotvec, float))])


def test_rate_command_integrates_in_the_base_frame_through_the_axis_map():
    m = TeleopMapper(MapperSettings(translation_scale=0.2, deadzone=0.0, axis_map=tuple(map(tuple, STATION_BASE_FROM_OPERATOR))))
    m.reset(HOME)
    m.update(delta([0, 1, 0, 0, 0, 0]), now=0.0)  # the first update only starts the clock
    for k in range(1, 11):  # full push away from the operator for 0.5 s, updated at 20 Hz
        out = m.update(delta([0, 1, 0, 0, 0, 0]), now=0.05 * k)
    # away from the operator is base -x at the embedded station (camera at +x looking back)
    np.testing.assert_allclose(out.action.position, HOME[:3] + [-0.1, 0, 0], atol=1e-9)
    assert not out.hold and out.status is DeviceStatus.OK


def test_deadzone_swallows_small_deflection_and_keeps_full_deflection_full():
    m = TeleopMapper(MapperSettings(translation_scale=1.0, deadzone=0.1, axis_map=IDENTITY_MAP))
    m.reset(HOME)
    m.update(delta([0.08, 0, 0, 0, 0, 0]), now=0.0)
    assert np.allclose(m.update(delta([0.08, 0, 0, 0, 0, 0]), now=0.05).action.position, HOME[:3])
    out = m.update(delta([1.0, 0, 0, 0, 0, 0]), now=0.1)
    assert out.action.position[0] - HOME[0] == pytest.approx(0.05)  # full speed 1 m/s for 0.05 s
    half = m.update(delta([0.55, 0, 0, 0, 0, 0]), now=0.2).action.position[0] - out.action.position[0]
    assert half == pytest.approx(0.1 * (0.55 - 0.1) / 0.9)


def test_rotation_rate_turns_about_the_mapped_axis_and_can_be_disabled():
    m = TeleopMapper(MapperSettings(rotation_scale=1.0, deadzone=0.0, axis_map=IDENTITY_MAP))
    m.reset(HOME)
    m.update(delta([0, 0, 0, 0, 0, 1]), now=0.0)
    out = m.update(delta([0, 0, 0, 0, 0, 1]), now=0.1)
    np.testing.assert_allclose(quat_to_rotvec(out.action.quat), [0, 0, 0.1], atol=1e-9)
    m2 = TeleopMapper(MapperSettings(rotation_enabled=False, deadzone=0.0, axis_map=IDENTITY_MAP))
    m2.reset(HOME)
    m2.update(delta([0, 0, 0, 0, 0, 1]), now=0.0)
    np.testing.assert_allclose(m2.update(delta([0, 0, 0, 0, 0, 1]), now=0.1).action.quat, HOME[3:])


def test_a_stall_between_updates_does_not_jump_the_target():
    m = TeleopMapper(MapperSettings(translation_scale=1.0, deadzone=0.0, axis_map=IDENTITY_MAP), max_dt=0.1)
    m.reset(HOME)
    m.update(delta([1, 0, 0, 0, 0, 0]), now=0.0)
    out = m.update(delta([1, 0, 0, 0, 0, 0]), now=5.0)
    assert out.action.position[0] - HOME[0] == pytest.approx(0.1)


def test_absolute_pose_is_applied_relative_to_where_the_clutch_engaged():
    s = MapperSettings(translation_scale=0.5, rotation_scale=1.0, deadzone=0.0, axis_map=IDENTITY_MAP,
                       clutch=ClutchMode.HOLD)
    m = TeleopMapper(s)
    m.reset(HOME)
    clutch = frozenset({ButtonAction.CLUTCH})
    # hand far away from the robot: engaging the clutch must not move the target
    out = m.update(absolute(pose_at([3.0, 2.0, 1.0]), held=clutch))
    np.testing.assert_allclose(out.action.ee_pose, HOME)
    out = m.update(absolute(pose_at([3.2, 2.0, 1.0], [0, 0, 0.3]), held=clutch))
    np.testing.assert_allclose(out.action.position, HOME[:3] + [0.1, 0, 0])
    np.testing.assert_allclose(quat_to_rotvec(out.action.quat), [0, 0, 0.3], atol=1e-9)
    # release, move the hand back, engage again: the robot stays, then continues from there
    m.update(absolute(pose_at([3.0, 2.0, 1.0])))
    m.update(absolute(pose_at([3.0, 2.0, 1.0]), held=clutch))
    out = m.update(absolute(pose_at([3.0, 2.2, 1.0]), held=clutch))
    np.testing.assert_allclose(out.action.position, HOME[:3] + [0.1, 0.1, 0], atol=1e-12)


def test_absolute_rotation_is_a_world_frame_delta_mapped_into_the_base():
    s = MapperSettings(rotation_scale=1.0, deadzone=0.0, axis_map=tuple(map(tuple, STATION_BASE_FROM_OPERATOR)))
    m = TeleopMapper(s)
    start = np.concatenate([[0.5, 0, 0.2], rotvec_to_quat(np.array([np.pi, 0, 0]))])  # pointing down
    m.reset(start)
    m.update(absolute(pose_at([0, 0, 0])))
    out = m.update(absolute(pose_at([0, 0, 0], [0.2, 0, 0])))  # tilt about the operator's right axis
    delta_q = quat_mul(out.action.quat, quat_conj(start[3:]))
    np.testing.assert_allclose(quat_to_rotvec(delta_q), STATION_BASE_FROM_OPERATOR @ [0.2, 0, 0], atol=1e-9)


def test_lost_device_holds_and_resumes_from_the_measured_pose():
    m = TeleopMapper(MapperSettings(translation_scale=1.0, deadzone=0.0, axis_map=IDENTITY_MAP))
    m.reset(HOME)
    m.update(delta([1, 0, 0, 0, 0, 0]), now=0.0)
    before = m.update(delta([1, 0, 0, 0, 0, 0]), now=0.1).action
    lost = m.update(delta([1, 0, 0, 0, 0, 0], status=DeviceStatus.LOST, message="SpaceMouse lost; reconnecting"),
                    now=0.2)
    assert lost.hold and lost.status is DeviceStatus.LOST and "reconnecting" in lost.message
    np.testing.assert_allclose(lost.action.ee_pose, before.ee_pose)
    measured = HOME + np.array([0.03, 0.01, 0, 0, 0, 0, 0])
    back = m.update(delta([0, 0, 0, 0, 0, 0]), robot_pose=measured, now=0.3)
    assert not back.hold
    np.testing.assert_allclose(back.action.ee_pose, measured)
    after = m.update(delta([1, 0, 0, 0, 0, 0]), robot_pose=measured, now=0.35)
    assert after.action.position[0] == pytest.approx(measured[0] + 0.05)


def test_non_finite_motion_holds_the_robot():
    m = TeleopMapper()
    m.reset(HOME)
    out = m.update(delta([np.nan, 0, 0, 0, 0, 0]), now=0.0)
    assert out.hold and "non-finite" in out.message
    out = m.update(absolute(np.array([np.inf, 0, 0, 1, 0, 0, 0])))
    assert out.hold and out.action.is_finite()


def test_gripper_toggle_close_while_held_and_analog():
    m = TeleopMapper()
    m.reset(HOME, gripper=0.0)
    assert m.update(delta(np.zeros(6), pressed=(ButtonAction.GRIPPER_TOGGLE,))).action.gripper == 1.0
    assert m.update(delta(np.zeros(6), pressed=(ButtonAction.GRIPPER_TOGGLE,))).action.gripper == 0.0
    assert m.update(delta(np.zeros(6), held=frozenset({ButtonAction.GRIPPER_CLOSE}))).action.gripper == 1.0
    assert m.update(delta(np.zeros(6))).action.gripper == 0.0
    assert m.update(absolute(None, gripper=0.7)).action.gripper == pytest.approx(0.7)


def test_stream_events_pass_through_and_mapper_actions_do_not():
    m = TeleopMapper()
    m.reset(HOME)
    out = m.update(delta(np.zeros(6), pressed=(ButtonAction.RECORD, ButtonAction.GRIPPER_TOGGLE,
                                                 ButtonAction.MARK_RECOVERY)))
    assert out.events == (ButtonAction.RECORD, ButtonAction.MARK_RECOVERY)
    lost = m.update(delta(np.zeros(6), pressed=(ButtonAction.STOP,), status=DeviceStatus.ERROR, message="x"))
    assert lost.events == (ButtonAction.STOP,) and lost.hold


def test_clutch_toggle_mode():
    m = TeleopMapper(MapperSettings(translation_scale=1.0, deadzone=0.0, axis_map=IDENTITY_MAP,
                                    clutch=ClutchMode.TOGGLE))
    m.reset(HOME)
    m.update(delta([1, 0, 0, 0, 0, 0]), now=0.0)
    assert m.update(delta([1, 0, 0, 0, 0, 0]), now=0.1).action.position[0] == pytest.approx(HOME[0])
    on = m.update(delta([1, 0, 0, 0, 0, 0], pressed=(ButtonAction.CLUTCH_TOGGLE,)), now=0.2)
    assert on.clutch_engaged and on.action.position[0] == pytest.approx(HOME[0] + 0.1)


def test_mapper_needs_a_starting_pose():
    with pytest.raises(ValueError, match="robot's pose"):
        TeleopMapper().update(delta(np.zeros(6)))
    out = TeleopMapper().update(delta(np.zeros(6)), robot_pose=HOME)
    np.testing.assert_allclose(out.action.ee_pose, HOME)


@pytest.mark.parametrize("bad", [dict(translation_scale=0.0), dict(deadzone=0.95), dict(rotation_scale=float("nan")),
                                 dict(axis_map=((1, 0, 0), (0, 1, 0), (0, 0, -1))),
                                 dict(axis_map=((2, 0, 0), (0, 1, 0), (0, 0, 1)))])
def test_invalid_mapper_settings_are_refused_in_one_line(bad):
    with pytest.raises(ValueError) as err:
        MapperSettings(**bad)
    assert "\n" not in str(err.value)
