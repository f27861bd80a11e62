import numpy as np
import pytest

from devices.geometry import quat_mul, quat_yaw, yaw_quat
from devices.robot import Action
from devices.sim.scene import HOME_QUAT
from devices.sim.station import StationConfig, make_station


@pytest.fixture(scope="module")
def station():
    st = make_station("pick_place")
    st.connect()
    yield st
    st.disconnect()


def test_rates_meet_the_contract(station):
    assert station.config.physics_hz >= 500
    assert station.config.control_hz >= 100
    assert station.model.opt.timestep == pytest.approx(1 / station.config.physics_hz)


def test_tracks_a_commanded_pose(station):
    station.reset(0)
    q = quat_mul(yaw_quat(0.5), HOME_QUAT)
    station.send_action(Action(np.array([0.55, -0.1, 0.15, *q]), 0.0))
    station.step(1.5)
    s = station.get_state()
    assert np.linalg.norm(s.ee_pose[:3] - [0.55, -0.1, 0.15]) < 2e-3
    assert quat_yaw(s.ee_pose[3:]) == pytest.approx(0.5, abs=0.02)


def test_pressing_into_the_table_is_bounded_by_the_impedance(station):
    station.reset(0)
    station.send_action(Action(np.array([0.35, -0.3, 0.05, *HOME_QUAT]), 1.0))
    station.step(1.0)
    station.send_action(Action(np.array([0.35, -0.3, -0.5, *HOME_QUAT]), 1.0))  # clipped, then pressed
    station.step(1.5)
    s = station.get_state()
    cfg = station.config
    bound = cfg.stiffness * cfg.max_position_error
    assert s.ee_pose[2] > -0.005, "the hand must not sink into the table"
    assert 1.0 < s.ee_wrench[2] <= bound * 1.1, "the table pushes back, no more than stiffness × max error"
    assert np.all(np.isfinite(s.ee_wrench))


def test_commands_are_clipped_to_the_workspace_and_returned(station):
    station.reset(0)
    applied = station.send_action(Action(np.array([5.0, 0.0, 0.2, *HOME_QUAT]), 3.0))
    assert station.config.workspace.contains(applied.position)
    assert applied.gripper == 1.0


def test_non_finite_command_holds(station):
    station.reset(0)
    before = station.get_state().ee_pose
    applied = station.send_action(Action(np.array([np.nan, 0, 0.2, *HOME_QUAT]), 0.0))
    station.step(0.5)
    assert np.all(np.isfinite(applied.ee_pose))
    assert np.linalg.norm(station.get_state().ee_pose[:3] - before[:3]) < 2e-3


def test_reset_is_seeded(station):
    a = station.reset(3) and station.task_state()["cube_pos"].copy()
    station.reset(4)
    b = station.task_state()["cube_pos"].copy()
    station.reset(3)
    c = station.task_state()["cube_pos"].copy()
    np.testing.assert_allclose(a, c, atol=1e-9)
    assert np.linalg.norm(a - b) > 1e-3


def test_cameras_render_and_report_intrinsics(station):
    station.reset(0)
    scene = station.cameras["scene"].read_latest()
    wrist = station.cameras["wrist"].read_latest()
    assert scene.image.shape == (96, 96, 3) and scene.image.dtype == np.uint8
    assert scene.image.std() > 5 and wrist.image.std() > 5
    assert not np.array_equal(scene.image, wrist.image)
    info = station.cameras["wrist"].info
    assert info.mount == "wrist" and np.isfinite(info.fx)


def test_gripper_closes_and_reports_closure(station):
    station.reset(0)
    station.send_action(Action(station.get_state().ee_pose, 1.0))
    station.step(0.5)
    assert station.get_state().gripper > 0.95
    station.send_action(Action(station.get_state().ee_pose, 0.0))
    station.step(0.5)
    assert station.get_state().gripper < 0.05


def test_custom_stiffness_changes_the_contact_force():
    soft = make_station("pick_place", cameras=(), stiffness=200.0)
    soft.connect()
    soft.send_action(Action(np.array([0.35, -0.3, -0.5, *HOME_QUAT]), 1.0))
    soft.step(2.0)
    assert soft.get_state().ee_wrench[2] <= 200.0 * StationConfig().max_position_error * 1.1
