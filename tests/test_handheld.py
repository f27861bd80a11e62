"""Handheld gripper: ArUco jaw width from rendered marker images (through the same detection code),
calibration fitted from known widths and persisted, tracker pose from a recorded OpenXR stream."""

import time

import numpy as np
import pytest
from teleop_fakes import ScriptedXr, marker_image, wait_until, xr_pose

from devices.camera import Camera
from devices.teleop import DeviceUnavailable, SettingsStore, make_device
from devices.teleop.handheld import (
    ArucoJawSensor,
    HandheldGripperDevice,
    HandheldOptions,
    HandheldTransport,
    JawCalibration,
    PushedFrameCamera,
)
from devices.teleop.openxr_adapter import XrSample


@pytest.mark.parametrize("distance", [60.0, 100.0, 150.0])
def test_marker_distance_is_measured_in_pixels(distance):
    sensor = ArucoJawSensor()
    assert sensor.measure(marker_image(distance)) == pytest.approx(distance, abs=1.0)


def test_measurement_survives_perspective_and_noise():
    sensor = ArucoJawSensor()
    clean = sensor.measure(marker_image(120.0))
    warped = sensor.measure(marker_image(120.0, warp=0.06, noise=6.0, seed=3))
    assert warped is not None and abs(warped - clean) < 0.1 * clean


def test_missing_marker_reads_as_none():
    assert ArucoJawSensor().measure(marker_image(100.0, ids=(0, 7))) is None
    assert ArucoJawSensor().measure(np.full((120, 120, 3), 200, np.uint8)) is None


def test_calibration_fit_predicts_other_widths():
    sensor = ArucoJawSensor()
    # a jaw whose markers are 50 px apart when closed and 2 px further per millimetre of opening
    px = lambda width: 50.0 + 2000.0 * width  # noqa: E731
    points = [(sensor.measure(marker_image(px(w))), w) for w in (0.0, 0.08)]
    cal = JawCalibration.fit(points)
    assert cal.width(sensor.measure(marker_image(px(0.03)))) == pytest.approx(0.03, abs=0.001)


@pytest.mark.parametrize("points, words", [([(100, 0.05)], "at least 2"), ([(100, 0.0), (100.2, 0.08)],
                                                                            "clearly different"),
                                           ([(100, 0.08), (200, 0.0)], "inverted")])
def test_bad_calibrations_are_refused(points, words):
    with pytest.raises(ValueError, match=words):
        JawCalibration.fit(points)


def handheld(camera, samples, store):
    return HandheldGripperDevice(HandheldTransport(ScriptedXr(samples, tracker_role="handheld_object"), camera,
                                                   xr_rate_hz=500.0), store=store)


def test_jaw_width_becomes_the_gripper_command_and_calibration_persists(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    camera = PushedFrameCamera()
    dev = handheld(camera, [XrSample(xr_pose([0.1, 0.2, 1.0]))], store)
    assert isinstance(dev.camera, Camera) and dev.camera is camera
    with dev:
        camera.push(marker_image(60.0), time.monotonic())
        assert wait_until(lambda: dev.measured_distance() is not None)
        cmd = dev.read_command()
        assert cmd.gripper is None and "not calibrated" in cmd.message
        closed = dev.measured_distance()
        camera.push(marker_image(220.0), time.monotonic())
        assert wait_until(lambda: dev.measured_distance() > 200)
        dev.calibrate_jaw([(closed, 0.0), (dev.measured_distance(), 0.08)])
        camera.push(marker_image(140.0), time.monotonic())  # half open
        assert wait_until(lambda: abs(dev.measured_distance() - 140) < 2)
        cmd = dev.read_command()
        np.testing.assert_allclose(cmd.pose[:3], [0.1, 0.2, 1.0], atol=1e-9)  # tracker, operator frame
    assert cmd.gripper == pytest.approx(0.5, abs=0.02) and cmd.message == ""
    again = handheld(PushedFrameCamera(), [], store)
    assert len(again.settings.options.calibration) == 2


def test_markers_out_of_view_keep_the_last_width_and_say_so(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    dev = handheld(PushedFrameCamera(), [XrSample(xr_pose([0, 0, 1]))], store)
    dev.save_settings(dev.default_settings().with_options(HandheldOptions(calibration=((50.0, 0.0), (210.0, 0.08)),
                                                                          occlusion_timeout=0.05)))
    camera = dev.camera
    with dev:
        camera.push(marker_image(130.0), time.monotonic())
        assert wait_until(lambda: dev.read_command().gripper is not None)
        width = dev.read_command().gripper
        camera.push(marker_image(130.0, ids=(0, 9)), time.monotonic())  # a finger marker covered
        assert wait_until(lambda: "not visible" in dev.read_command().message)
        assert dev.read_command().gripper == width


def test_handheld_needs_its_wrist_camera():
    with pytest.raises(DeviceUnavailable, match="wrist camera"):
        make_device("handheld")


def test_recorded_handheld_session_replays_images_through_the_same_detection(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    samples = [XrSample(xr_pose([0.0, 0.1 * k, 1.0]), squeeze=0.0) for k in range(5)]
    camera = PushedFrameCamera()
    dev = handheld(camera, samples, store)
    dev.save_settings(dev.default_settings().with_options(HandheldOptions(calibration=((50.0, 0.0), (210.0, 0.08)))))
    stream = tmp_path / "handheld.jsonl"
    with dev:
        dev.start_recording(stream)
        for d in (60.0, 100.0, 180.0):
            camera.push(marker_image(d), time.monotonic())
            assert wait_until(lambda d=d: abs((dev.measured_distance() or 0) - d) < 2)
        assert wait_until(lambda: dev.transport.xr_source.index > len(samples))  # the last one fully handled
        live = dev.read_command()
        dev.stop_recording()
    replay = make_device(f"replay:{stream}", realtime=False, store=store)
    assert isinstance(replay, HandheldGripperDevice)
    commands = list(replay.run_offline())
    assert commands[-1].gripper == pytest.approx(live.gripper)
    np.testing.assert_allclose(commands[-1].pose, live.pose)
    frame = replay.camera.read_latest()
    assert frame is not None and frame.image.shape == (320, 320, 3)
    assert ArucoJawSensor().measure(frame.image) == pytest.approx(180.0, abs=1.0)


def test_rotating_about_the_jaws_commands_no_translation_of_the_tcp(tmp_path):
    """A pure rotation about the tool centre point: the tracker, mounted off the jaws, swings on an
    arc; with the tracker-to-TCP offset set the commanded TCP position stays put and only turns."""
    from devices.geometry import quat_to_matrix

    offset = np.array([0.0, -0.06, -0.12])  # TCP 6 cm below and 12 cm ahead of the tracker (its frame)
    tcp = np.array([0.1, 1.0, -0.3])  # fixed TCP, runtime y-up frame
    samples = []
    for k in range(12):
        axis = np.array([1.0, 1.0, 0.3]) / np.linalg.norm([1.0, 1.0, 0.3])
        half = 0.12 * k / 2
        q = np.concatenate([[np.cos(half)], np.sin(half) * axis])
        samples.append(XrSample(np.concatenate([tcp - quat_to_matrix(q) @ offset, q])))
    store = SettingsStore(tmp_path / "settings.json")
    dev = handheld(PushedFrameCamera(), samples, store)
    dev.save_settings(dev.default_settings().with_options(HandheldOptions(tcp_offset=tuple(offset))))
    again = handheld(PushedFrameCamera(), [], store)
    np.testing.assert_allclose(again.settings.options.tcp_offset, offset)  # saved with the device settings
    from devices.teleop.frames import OPERATOR_FROM_Y_UP

    poses = []
    with dev:
        while dev.transport.xr_source.index <= len(samples):
            cmd = dev.read_command()
            if cmd.pose is not None:
                poses.append(cmd.pose)
            time.sleep(0.001)
    poses = np.array(poses)
    turned = {tuple(np.round(p[3:], 3)) for p in poses}
    assert len(turned) >= 3  # the gripper really turned through the stream
    np.testing.assert_allclose(poses[:, :3], np.tile(OPERATOR_FROM_Y_UP @ tcp, (len(poses), 1)), atol=1e-9)
    with pytest.raises(ValueError, match="tcp_offset"):
        HandheldOptions(tcp_offset=(0.0, float("nan"), 0.0))
