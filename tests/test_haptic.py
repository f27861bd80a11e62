"""Haptic stylus: pose and buttons in, the end-effector wrench out as force, in a servo loop of
at least 500 Hz — with a stand-in SDK at the outermost edge (the real backends need their libraries)."""

import time

import numpy as np
import pytest
from teleop_fakes import FakeHaptic, wait_until

from devices.teleop import ButtonAction, DeviceStatus, DeviceUnavailable, TeleopMapper, make_device
from devices.teleop.frames import OPERATOR_FROM_Y_UP, STATION_BASE_FROM_OPERATOR
from devices.teleop.haptic import ForceRenderer, HapticOptions, HapticStylusDevice, HapticTransport
from devices.teleop.haptic_backends import ForceDimensionBackend, OpenHapticsBackend, make_backend

HOME = np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0])


def stylus(backend, options=HapticOptions()):
    from devices.teleop.settings import DeviceSettings, MapperSettings

    dev = HapticStylusDevice(HapticTransport(backend))
    settings = DeviceSettings(mapper=MapperSettings(translation_scale=3.0, deadzone=0.0, clutch="hold"),
                              buttons=dev.default_settings().buttons, options=options)
    return HapticStylusDevice(HapticTransport(backend), settings=settings)


def test_servo_loop_runs_at_500_hz_or_more_with_absolute_deadlines():
    backend = FakeHaptic()
    dev = stylus(backend, HapticOptions(loop_hz=1000.0))
    with dev:
        time.sleep(0.4)
        stats = dev.loop_stats()
    assert stats.ticks > 100
    assert stats.rate_hz >= 500.0, f"servo loop ran at {stats.rate_hz:.0f} Hz ({stats})"
    assert backend.closed == 1


def test_contact_wrench_is_rendered_scaled_rotated_and_clamped():
    r = ForceRenderer(HapticOptions(force_scale=0.1, max_force=3.0, smoothing_hz=1e6), device_limit=0.9,
                      base_from_operator=STATION_BASE_FROM_OPERATOR, operator_from_native=OPERATOR_FROM_Y_UP)
    assert r.force_limit == 0.9  # the device's own continuous limit wins over the setting
    # the table pushes the hand up with 5 N: the stylus pushes the operator's hand up (Touch: +y up)
    r.set_wrench(np.array([0, 0, 5.0, 0, 0, 0]), t=0.0)
    r.compute(0.0)
    force, torque = r.compute(0.001)
    np.testing.assert_allclose(force, [0, 0.5, 0], atol=1e-9)
    assert np.all(torque == 0)
    # a push towards base -x (away from the operator at the station) → towards -z on the Touch
    r.set_wrench(np.array([-5.0, 0, 0, 0, 0, 0]), t=0.002)
    np.testing.assert_allclose(r.compute(0.003)[0], [0, 0, -0.5], atol=1e-9)
    # 30 N is more than the device may render: clamped to its limit, direction kept
    r.set_wrench(np.array([0, 30.0, 30.0, 0, 0, 0]), t=0.004)
    f = r.compute(0.005)[0]
    assert np.linalg.norm(f) == pytest.approx(0.9)
    np.testing.assert_allclose(f / np.linalg.norm(f), [np.sqrt(0.5), np.sqrt(0.5), 0.0], atol=1e-9)


def test_stale_or_non_finite_wrench_fades_to_zero_smoothly():
    r = ForceRenderer(HapticOptions(force_scale=1.0, max_force=5.0, wrench_timeout=0.1, smoothing_hz=30.0),
                      device_limit=5.0, base_from_operator=np.eye(3), operator_from_native=np.eye(3))
    r.set_wrench(np.array([2.0, 0, 0, 0, 0, 0]), t=0.0)
    r.compute(0.0)
    first = r.compute(0.001)[0][0]
    assert 0 < first < 0.5  # low-pass: no step to 2 N in one millisecond
    for k in range(2, 100):
        f = r.compute(k * 0.001)[0][0]
    assert f == pytest.approx(2.0, rel=0.01)
    r.set_wrench(np.array([np.nan, 0, 0, 0, 0, 0]), t=0.1)  # ignored
    forces = [r.compute(0.1 + k * 0.001)[0][0] for k in range(1, 300)]
    assert forces[0] > 1.0 and forces[-1] < 0.01  # the last good wrench went stale and faded out
    assert np.all(np.diff(forces[100:]) <= 1e-12)


def test_device_renders_the_wrench_it_is_fed_and_streams_its_pose():
    backend = FakeHaptic(max_force=0.9, path=lambda t: np.array([0.0, 0.05, 0.0]), buttons=lambda t: 0b01)
    dev = stylus(backend, HapticOptions(force_scale=0.1, smoothing_hz=200.0))
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        assert wait_until(lambda: dev.read_latest().pose is not None)
        for _ in range(50):
            dev.set_feedback_wrench(np.array([0, 0, 4.0, 0, 0, 0]))
            time.sleep(0.002)
        cmd = dev.read_command()
    assert np.linalg.norm(backend.forces[-1] - [0, 0.4, 0]) < 0.02
    np.testing.assert_allclose(cmd.pose[:3], OPERATOR_FROM_Y_UP @ [0, 0.05, 0])  # 5 cm up on the Touch
    assert ButtonAction.CLUTCH in cmd.held


def test_clutch_button_moves_the_robot_by_the_scaled_stylus_motion():
    def path(t):  # still for 0.1 s, then 2 cm to the operator's right
        return np.array([0.02 if t > 0.1 else 0.0, 0.0, 0.0])

    backend = FakeHaptic(path=path, buttons=lambda t: 1)
    dev = stylus(backend)
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        mapper.update(dev.read_command())
        assert wait_until(lambda: dev.read_latest().pose is not None)
        mapper.update(dev.read_command())
        assert wait_until(lambda: dev.read_latest().pose[0] > 0.01)
        out = mapper.update(dev.read_command())
    np.testing.assert_allclose(out.action.position, HOME[:3] + STATION_BASE_FROM_OPERATOR @ [0.06, 0, 0], atol=1e-9)


def test_a_failing_device_holds_the_robot_and_is_retried():
    backend = FakeHaptic()
    dev = stylus(backend)
    dev._reconnect_interval = 0.02
    with dev:
        assert wait_until(lambda: dev.read_latest().pose is not None)
        backend.fail = True
        assert wait_until(lambda: dev.status is DeviceStatus.LOST)
        assert "communication error" in dev.read_command().message
        backend.fail = False
        assert wait_until(lambda: dev.status is DeviceStatus.OK)


def test_without_haptic_libraries_the_error_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("DEMOSTATION_LIBHD", str(tmp_path / "libHD.so"))
    monkeypatch.setenv("DEMOSTATION_LIBDHD", str(tmp_path / "libdhd.so"))
    assert OpenHapticsBackend.library() is None and ForceDimensionBackend.library() is None
    with pytest.raises(DeviceUnavailable) as err:
        make_device("haptic")
    assert "OpenHaptics" in str(err.value) and "libdhd.so" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DeviceUnavailable, match="libHD.so not found"):
        make_backend("openhaptics").open()
    with pytest.raises(DeviceUnavailable, match="libdhd.so not found"):
        make_backend("forcedimension").open()
    with pytest.raises(ValueError, match="unknown haptic backend"):
        make_device("haptic:phantom")


def test_a_library_that_is_not_one_fails_in_one_line(monkeypatch, tmp_path):
    fake = tmp_path / "libHD.so"
    fake.write_bytes(b"not an ELF file")
    monkeypatch.setenv("DEMOSTATION_LIBHD", str(fake))
    with pytest.raises(DeviceUnavailable) as err:
        OpenHapticsBackend().open()
    assert "could not be loaded" in str(err.value) and "\n" not in str(err.value)
