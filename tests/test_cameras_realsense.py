"""RealSense: recordings written by the SDK (software device + recorder) played through RealSenseCamera.

This runs the real pipeline (`rs.pipeline` + `config.enable_device_from_file`), `rs.align`, the
frame → image/depth conversion, hardware timestamps and frame counters. What it cannot run here is
`config.enable_device(serial)` against a physical camera (librealsense 2.59 does not list software
devices in a context, so the live-device branch of `_open` needs hardware).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from realsense_recording import color_value, write_recording

from devices.camera import CameraError
from devices.cameras.realsense import RealSenseCamera, list_realsense_devices
from devices.cameras.threaded import CaptureSettings


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    root = tmp_path_factory.mktemp("rs")
    # Frames pushed at their real rate, so real-time playback (as from a camera) keeps their spacing.
    a = write_recording(root / "a.db3", serial="SW-A", frames=12, skip=(5,), spacing_s=1 / 30)
    b = write_recording(root / "b.db3", serial="SW-B", frames=8, t0_ms=90000.0, spacing_s=1 / 30)
    return a, b


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def play_to_end(rec, **kw):
    cam = RealSenseCamera("scene", CaptureSettings(32, 24, fps=30), recording=rec.path, frame_timeout_ms=200, **kw)
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().state == "ended")
        return cam, cam.status(), cam.read_latest()
    finally:
        cam.disconnect()


def test_playback_delivers_colour_counter_and_intrinsics(recordings):
    rec, _ = recordings
    cam, st, frame = play_to_end(rec)
    assert st.frames_captured == rec.frames - 1 and st.frames_dropped == 1 and st.last_error == ""
    assert frame.index == rec.frames - 1  # the device's frame counter, so the skipped frame shows
    assert frame.image.shape == (24, 32, 3) and frame.image.dtype == np.uint8
    assert frame.image[..., 0].min() == frame.image[..., 0].max() == color_value(rec.frames - 1)
    assert frame.depth is None
    info = cam.info
    assert info.serial == "SW-A" and info.model.startswith("realsense")
    assert info.fx == pytest.approx(rec.fx / 2) and info.cx == pytest.approx(15.5)
    assert info.extra["native_size"] == [64, 48] and info.extra["color_format"] == "rgb8"


def test_depth_is_aligned_to_colour_and_in_metres(recordings):
    rec, _ = recordings
    _, st, frame = play_to_end(rec, depth=True)
    # The SDK's syncer holds back the first colour frames until it has matched depth to them (how
    # many depends on load), so only the end of the recording is certain to come through.
    assert st.frames_captured >= rec.frames // 2 and st.last_error == ""
    assert frame.image[..., 0].min() == color_value(rec.frames - 1)
    # a half-resolution depth stream reprojected onto the colour grid by rs.align, then fitted
    assert frame.depth.shape == (24, 32) and frame.depth.dtype == np.float32
    assert np.median(frame.depth) == pytest.approx(rec.depth_m, abs=1e-3)


def test_hardware_timestamps_map_onto_the_host_clock_with_their_spacing(recordings):
    rec, _ = recordings
    cam = RealSenseCamera("scene", CaptureSettings(32, 24, fps=30), recording=rec.path, frame_timeout_ms=200)
    frames = {}
    cam.connect()
    try:
        def collect():
            f = cam.read_latest()
            if f is not None:
                frames[f.index] = f
            return cam.status().state == "ended"
        assert wait_for(collect)
        collect()
    finally:
        cam.disconnect()
    assert 5 not in frames  # the frame the "device" dropped
    idx = np.array(sorted(frames))
    stamps = np.array([frames[i].timestamp for i in idx])
    assert np.all(np.diff(stamps) > 0) and stamps[-1] <= time.monotonic()
    # Delivery jitter is gone: after the first frames, spacing = hardware spacing (33.3 ms x gap).
    settled = idx >= 3
    np.testing.assert_allclose(np.diff(stamps[settled]), np.diff(idx[settled]) * rec.period_ms / 1000, atol=3e-3)


def test_two_cameras_stream_at_once(recordings):
    a, b = recordings
    cams = [RealSenseCamera(n, CaptureSettings(16, 12, fps=30), recording=r.path, loop=True, realtime=True)
            for n, r in (("left", a), ("right", b))]
    for c in cams:
        c.connect()
    try:
        assert wait_for(lambda: all(c.status().frames_captured >= 8 for c in cams))
        serials = {c.info.serial for c in cams}
        shapes = {c.read_latest().image.shape for c in cams}
    finally:
        for c in cams:
            c.disconnect()
    assert serials == {"SW-A", "SW-B"} and shapes == {(12, 16, 3)}


def test_missing_recording_and_absent_serial_fail_with_one_line(tmp_path):
    with pytest.raises(CameraError, match="no RealSense recording"):
        RealSenseCamera("x", CaptureSettings(8, 8), recording=tmp_path / "none.db3").connect()
    cam = RealSenseCamera("x", CaptureSettings(8, 8), serial="000000000000")
    t0 = time.monotonic()
    with pytest.raises(CameraError, match="no RealSense camera with serial 000000000000"):
        cam.connect()
    assert time.monotonic() - t0 < 2.0


def test_enumeration_without_cameras_is_empty():
    assert list_realsense_devices() == []


class _D435Edge:
    """pyrealsense2 stand-in for a live D435 (``rs.context``, ``rs.config``, ``rs.pipeline``), the
    outermost edge: the pipeline refuses a request the device has no mode for, as librealsense does
    ("Couldn't resolve requests"). Modes: colour up to 1920x1080, depth only at D400 depth sizes."""

    COLOR = {(1920, 1080), (1280, 720), (960, 540), (848, 480), (640, 480), (640, 360), (424, 240), (320, 240)}
    DEPTH = {(1280, 720), (848, 480), (640, 480), (640, 360), (480, 270), (424, 240), (256, 144)}

    def __init__(self, rs):
        edge = self
        self.requests = []

        class Device:
            def supports(self, key):
                return True

            def get_info(self, key):
                return "D435-SERIAL" if key == rs.camera_info.serial_number else "Intel RealSense D435"

            def is_playback(self):
                return False

            def first_depth_sensor(self):
                return type("S", (), {"get_depth_scale": lambda self: 0.001})()

        class Context:
            def query_devices(self):
                return [Device()]

        class Config:
            def enable_device(self, serial):
                pass

            def enable_stream(self, stream, w, h, fmt, fps):
                edge.requests.append((stream, w, h))

        class Profile:
            def get_device(self):
                return Device()

            def get_stream(self, stream):
                w, h = next((w, h) for s, w, h in edge.requests if s == rs.stream.color)
                intr = type("I", (), {"width": w, "height": h, "fx": 600.0, "fy": 600.0, "ppx": w / 2,
                                      "ppy": h / 2, "model": rs.distortion.brown_conrady, "coeffs": [0.0] * 5})()
                return type("P", (), {"as_video_stream_profile": lambda self: self, "get_intrinsics": lambda self: intr,
                                      "format": lambda self: rs.format.rgb8})()

        class Pipeline:
            def start(self, config):
                for stream, w, h in edge.requests:
                    modes = edge.COLOR if stream == rs.stream.color else edge.DEPTH
                    if (w, h) not in modes:
                        raise RuntimeError("Couldn't resolve requests")
                return Profile()

            def stop(self):
                pass

        self.context, self.config, self.pipeline = Context, Config, Pipeline


@pytest.mark.parametrize("color, depth", [((1920, 1080), (1280, 720)), ((640, 480), (640, 480)),
                                          ((960, 540), (848, 480))])
def test_depth_is_requested_at_a_depth_mode_independent_of_colour(monkeypatch, color, depth):
    import pyrealsense2 as rs

    edge = _D435Edge(rs)
    for name in ("context", "config", "pipeline"):
        monkeypatch.setattr(rs, name, getattr(edge, name))
    cam = RealSenseCamera("rs", CaptureSettings(64, 48, fps=30), capture_size=color, depth=True)
    cam._open()  # the device calls of the reader thread, against the stand-in device
    assert (rs.stream.color, *color) in edge.requests and (rs.stream.depth, *depth) in edge.requests
    assert cam.info.extra["depth_size"] == list(depth) and cam.info.extra["depth_aligned_to"] == "color"
    cam._close()
    with pytest.raises(ValueError, match="not a depth mode"):
        RealSenseCamera("rs", CaptureSettings(64, 48), capture_size=color, depth=True, depth_size=(1920, 1080))


def test_depth_size_is_a_camera_option_checked_against_the_depth_modes():
    from devices.cameras.config import CameraConfig
    from devices.cameras.registry import CameraContext, build_camera

    cam = build_camera(CameraConfig(name="rs", kind="realsense", options={
        "capture_size": [1920, 1080], "depth": True, "depth_size": [848, 480]}), CameraContext())
    assert cam._depth_size == (848, 480)
    with pytest.raises(ValueError, match="not a depth mode"):
        build_camera(CameraConfig(name="rs", kind="realsense", options={
            "capture_size": [1920, 1080], "depth": True, "depth_size": [1920, 1080]}), CameraContext())
