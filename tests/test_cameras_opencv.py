"""UVC code path, driven by a synthetic video file: order, timestamps, resizing, looping, errors."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from devices.camera import CameraError
from devices.cameras.opencv_camera import OpenCVCamera
from devices.cameras.test_pattern import pattern_frame, read_pattern_index, write_pattern_video
from devices.cameras.threaded import CaptureSettings


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_pattern_video(tmp_path_factory.mktemp("video") / "pattern.avi", frames=40, fps=30)


def poll(cam, seconds):
    """Read the newest frame every 5 ms (as a fast recorder would): every distinct frame seen."""
    seen = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame = cam.read_latest()
        if frame is not None:
            seen[frame.index] = frame
        time.sleep(0.005)
    return [seen[k] for k in sorted(seen)]


def test_video_file_frames_arrive_in_order_with_their_index_and_paced_times(video):
    cam = OpenCVCamera("wrist", str(video), CaptureSettings(48, 48, fps=60), pace_fps=60.0)
    cam.connect()
    try:
        frames = poll(cam, 0.8)
        st = cam.status()
    finally:
        cam.disconnect()
    assert st.state == "ended" and st.frames_captured == 40 and st.frames_dropped == 0
    assert len(frames) >= 20  # a 5 ms poll sees most frames of a 60 fps source
    for f in frames:
        assert f.image.shape == (48, 48, 3) and f.image.dtype == np.uint8
        assert read_pattern_index(f.image, source_size=(160, 120)) == f.index  # image paired with its index
    stamps = np.array([f.timestamp for f in frames])
    idx = np.array([f.index for f in frames])
    assert np.all(np.diff(stamps) > 0)
    # Capture times keep the source's spacing (device time + the smallest delay seen so far): once
    # the offset has settled after the first few frames, delivery jitter no longer shows.
    settled = idx >= 5
    np.testing.assert_allclose(np.diff(stamps[settled]), np.diff(idx[settled]) / 60.0, atol=2e-3)


def test_resizing_keeps_aspect_by_centre_crop(video):
    cam = OpenCVCamera("scene", str(video), CaptureSettings(64, 32, fps=100), pace_fps=100.0)
    cam.connect()
    try:
        frames = poll(cam, 0.3)
    finally:
        cam.disconnect()
    f = frames[-1]
    assert f.image.shape == (32, 64, 3)
    assert read_pattern_index(f.image, source_size=(160, 120)) == f.index
    # the red ramp spans the full width: a 2:1 crop of a 4:3 frame keeps all columns
    assert f.image[0, 0, 0] < 60 and f.image[0, -1, 0] > 195
    info = cam.info
    assert (info.width, info.height) == (64, 32) and info.extra["native_size"] == [160, 120]


def test_loop_continues_the_index_and_time(video):
    cam = OpenCVCamera("scene", str(video), CaptureSettings(32, 24, fps=400), pace_fps=400.0, loop=True)
    cam.connect()
    try:
        assert _wait(lambda: cam.status().frames_captured > 90, 3.0)
        f = cam.read_latest()
        st = cam.status()
    finally:
        cam.disconnect()
    assert st.state == "streaming"
    assert f.index >= 90 and read_pattern_index(f.image, source_size=(160, 120)) == f.index % 40
    assert st.frames_dropped == 0


def test_read_latest_max_age_and_clock_injection(video):
    base = time.monotonic()
    cam = OpenCVCamera("scene", str(video), CaptureSettings(32, 24, fps=30), clock=lambda: time.monotonic() - base)
    cam.connect()
    try:
        assert _wait(lambda: cam.read_latest() is not None, 1.0)
        f = cam.read_latest()
        assert 0 <= f.timestamp < 1.0  # on the injected clock, not the raw monotonic one
    finally:
        cam.disconnect()
    last = cam.read_latest()
    time.sleep(0.1)
    assert cam.read_latest(max_age_s=0.05) is None  # the kept frame is now too old
    assert cam.read_latest(max_age_s=5.0) is last


def test_missing_file_and_missing_device_fail_with_one_line(tmp_path):
    with pytest.raises(CameraError, match="no video file"):
        OpenCVCamera("a", str(tmp_path / "none.avi"), CaptureSettings(8, 8)).connect()
    with pytest.raises(CameraError, match="cannot open '/dev/video9"):
        OpenCVCamera("b", "/dev/video97", CaptureSettings(8, 8)).connect()


def test_corrupt_file_fails_cleanly(tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(CameraError):
        OpenCVCamera("a", str(bad), CaptureSettings(8, 8)).connect()


def test_uvc_device_is_asked_for_mjpg_size_fps_and_one_buffer():
    """The settings a webcam gets, checked on a recording VideoCapture stand-in (the outermost edge)."""
    calls = []

    class RecordingCapture:
        def set(self, prop, value):
            calls.append((prop, value))
            return True

        def get(self, prop):
            return dict(calls).get(prop, 0)

    cam = OpenCVCamera("w", "/dev/video0", CaptureSettings(8, 8, fps=30), capture_size=(640, 480))
    cam._configure_device(RecordingCapture())
    got = dict(calls)
    assert got[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert (got[cv2.CAP_PROP_FRAME_WIDTH], got[cv2.CAP_PROP_FRAME_HEIGHT]) == (640, 480)
    assert got[cv2.CAP_PROP_FPS] == 30 and got[cv2.CAP_PROP_BUFFERSIZE] == 1


def test_pattern_roundtrip_rejects_a_stretched_image():
    frame = pattern_frame(613)
    assert read_pattern_index(frame) == 613
    stretched = cv2.resize(frame, (32, 32))  # squeezed instead of cropped: blocks land elsewhere
    assert read_pattern_index(stretched, source_size=(160, 120)) != 613


def _wait(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.005)
    return False


class _StallingWebcam:
    """``cv2.VideoCapture`` stand-in for a V4L2 webcam (the outermost edge) that keeps 4 buffers
    whatever it is asked (as some UVC drivers do), ignores CAP_PROP_READ_TIMEOUT_MSEC like OpenCV's
    V4L2 backend, and whose first opening delivers 3 frames and then blocks inside ``read()`` the
    way a stalled device does (~10 s; here until the test releases it)."""

    opened = 0
    release_stall = None

    def __init__(self, source, api=None):
        type(self).opened += 1
        self._stalls = type(self).opened == 1
        self._frames = 0

    def isOpened(self):
        return True

    def set(self, prop, value):
        return prop != cv2.CAP_PROP_BUFFERSIZE  # the driver refuses a 1-buffer queue

    def get(self, prop):
        return {cv2.CAP_PROP_BUFFERSIZE: 4, cv2.CAP_PROP_FRAME_WIDTH: 32, cv2.CAP_PROP_FRAME_HEIGHT: 24,
                cv2.CAP_PROP_POS_MSEC: 33.3 * self._frames}.get(prop, 0)

    def read(self):
        if self._stalls and self._frames >= 3:
            type(self).release_stall.wait(10.0)
            return False, None
        time.sleep(0.005)
        self._frames += 1
        return True, np.full((24, 32, 3), self._frames % 255, np.uint8)

    def release(self):
        pass


def test_a_stalled_webcam_is_reported_within_the_read_timeout_and_never_blocks_the_caller(monkeypatch):
    import threading

    _StallingWebcam.opened = 0
    _StallingWebcam.release_stall = threading.Event()
    monkeypatch.setattr(cv2, "VideoCapture", _StallingWebcam)
    cam = OpenCVCamera("w", "/dev/video0", CaptureSettings(16, 12, fps=30, reconnect_backoff_s=(0.01, 0.05)),
                       read_timeout_ms=100)
    try:
        cam.connect()
        assert cam.info.extra["buffer_size"] == 4 and "drains" in cam.info.extra["buffer_note"]
        # the device hangs in read() after 3 frames: the reader reports it within its own timeout
        # (not after V4L2's 10 s) and reopens, and frames flow again from the new opening
        assert _wait(lambda: _StallingWebcam.opened >= 2 and cam.status().frames_captured > 5, 5.0)
        assert "within 100 ms" in cam.status().last_error
        cam.disconnect()  # returns at once: the reader is not stuck in the blocked read()
        cam.connect()  # so the camera is not left behind as "still stuck in a device call"
        assert _wait(lambda: cam.read_latest() is not None, 5.0)
    finally:
        _StallingWebcam.release_stall.set()
        cam.disconnect()
