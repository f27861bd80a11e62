"""ThreadedCamera: newest-frame slot, timing, drop counting, status, and never blocking the caller."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from devices.camera import CameraError, CameraInfo
from devices.cameras.clock_map import ClockMapper
from devices.cameras.imaging import crop_resize_plan, fit_depth, fit_image, fit_intrinsics, to_rgb
from devices.cameras.threaded import Capture, CaptureSettings, EndOfStream, ThreadedCamera


class ScriptedCamera(ThreadedCamera):
    """A backend that plays a list of steps: Capture, an exception to raise, or "hang"."""

    def __init__(self, steps, settings=None, open_error=None, open_hang=False, **kw):
        super().__init__("scripted", settings or CaptureSettings(8, 6, fps=100, stall_after_s=0.2,
                                                                 reconnect_backoff_s=(0.01, 0.05),
                                                                 join_timeout_s=0.2, open_timeout_s=0.5), **kw)
        self.steps = list(steps)
        self.open_error = open_error
        self.open_hang = open_hang
        self.release = threading.Event()
        self.opens = 0
        self.closes = 0

    def _open(self):
        self.opens += 1
        if self.open_hang:
            self.release.wait(10)
        if self.open_error:
            raise self.open_error

    def _read(self):
        if not self.steps:
            self._stop.wait(0.01)
            return None
        step = self.steps.pop(0)
        if step == "hang":
            self.release.wait(10)  # a driver call that never returns (until the test lets it)
            return None
        if isinstance(step, BaseException):
            raise step
        time.sleep(0.002)
        return step

    def _close(self):
        self.closes += 1

    def _native_info(self):
        return CameraInfo(name="x", width=16, height=12, serial="S1", fx=10, fy=10, cx=7.5, cy=5.5)


def img(value, w=16, h=12):
    return np.full((h, w, 3), value, np.uint8)


def wait_for(pred, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.005)
    return False


def test_newest_frame_is_resized_and_stamped_on_the_injected_clock():
    clock_value = [100.0]
    cam = ScriptedCamera([Capture(img(10)), Capture(img(20))], clock=lambda: clock_value[0])
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 2)
        frame = cam.read_latest()
        assert frame.image.shape == (6, 8, 3) and frame.image.dtype == np.uint8
        assert frame.image[0, 0, 0] == 20 and frame.index == 1
        assert frame.timestamp == 100.0  # no device time: arrival on the injected clock
        clock_value[0] = 100.5
        assert cam.read_latest(max_age_s=0.4) is None
        assert cam.read_latest(max_age_s=0.6) is frame
    finally:
        cam.disconnect()
    assert cam.status().state == "disconnected"


def test_info_reports_configured_size_and_transformed_intrinsics():
    cam = ScriptedCamera([])
    info = cam.info
    assert (info.width, info.height, info.serial, info.name) == (8, 6, "S1", "scripted")
    assert info.fx == pytest.approx(5.0) and info.cx == pytest.approx(3.5)
    assert info.extra["native_size"] == [16, 12]


def test_sequence_gaps_count_as_drops_and_advance_the_index():
    caps = [Capture(img(i), sequence=s) for i, s in enumerate([0, 1, 4, 5, 9])]
    cam = ScriptedCamera(caps)
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 5)
        st = cam.status()
        assert st.frames_dropped == 2 + 3
        assert cam.read_latest().index == 9
    finally:
        cam.disconnect()


def test_timestamp_gaps_count_as_drops_without_a_counter():
    caps = [Capture(img(i), device_time_s=t) for i, t in enumerate([1.00, 1.01, 1.04, 1.05])]
    cam = ScriptedCamera(caps)  # nominal 100 fps: 1.01 -> 1.04 skipped two frames
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 4)
        assert cam.status().frames_dropped == 2
    finally:
        cam.disconnect()


def test_device_times_keep_their_spacing_on_the_host_clock():
    caps = [Capture(img(i), device_time_s=50.0 + i * 0.01) for i in range(5)]
    cam = ScriptedCamera(caps)
    seen = []
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 5)
        seen.append(cam.read_latest())
    finally:
        cam.disconnect()
    frame = seen[0]
    assert frame.timestamp <= time.monotonic()
    # Mapped time = device time + min(arrival - device): within the run's delivery jitter of now.
    assert time.monotonic() - frame.timestamp < 1.0


def test_a_hanging_backend_never_blocks_read_latest_and_shows_stalled():
    cam = ScriptedCamera([Capture(img(7)), "hang"])
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 1)
        t0 = time.perf_counter()
        for _ in range(200):
            frame = cam.read_latest()
        assert time.perf_counter() - t0 < 0.05  # 200 reads while the reader is stuck in the driver
        assert frame.image[0, 0, 0] == 7
        assert wait_for(lambda: cam.status().state == "stalled", 1.0)
        assert cam.status().fps == 0.0
        t0 = time.perf_counter()
        cam.disconnect()  # bounded wait, then the hung thread is left behind
        assert time.perf_counter() - t0 < 1.0
        st = cam.status()
        assert st.state == "error" and "hung" in st.last_error
    finally:
        cam.release.set()


def test_a_raising_backend_shows_error_and_reopens():
    cam = ScriptedCamera([Capture(img(1)), OSError("USB transfer failed: -71"), Capture(img(2))])
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 2)
        st = cam.status()
        assert st.state == "streaming" and "USB transfer failed" in st.last_error
        assert cam.opens == 2 and cam.closes == 1
        assert cam.read_latest().image[0, 0, 0] == 2
    finally:
        cam.disconnect()


def test_a_backend_that_keeps_raising_stays_in_error_and_read_returns_promptly():
    cam = ScriptedCamera([Capture(img(3))] + [RuntimeError("sensor timeout")] * 1000)
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().state == "error")
        t0 = time.perf_counter()
        frame = cam.read_latest()
        assert time.perf_counter() - t0 < 0.01
        assert frame is not None and frame.image[0, 0, 0] == 3  # the last good frame is still there
        assert "sensor timeout" in cam.status().line()
    finally:
        cam.disconnect()


def test_open_failure_raises_one_line_camera_error():
    cam = ScriptedCamera([], open_error=OSError("no such device\n(serial 42)"))
    with pytest.raises(CameraError, match=r"cannot open: no such device \(serial 42\)"):
        cam.connect()
    assert not cam.is_connected


def test_open_that_hangs_times_out():
    cam = ScriptedCamera([], open_hang=True)
    try:
        t0 = time.perf_counter()
        with pytest.raises(CameraError, match="did not open"):
            cam.connect()
        assert time.perf_counter() - t0 < 1.5
    finally:
        cam.release.set()


def test_end_of_stream_is_ended_not_error():
    cam = ScriptedCamera([Capture(img(5)), EndOfStream()])
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().state == "ended")
        assert cam.read_latest().image[0, 0, 0] == 5 and cam.status().last_error == ""
    finally:
        cam.disconnect()


def test_fps_is_measured():
    caps = [Capture(img(i)) for i in range(30)]
    cam = ScriptedCamera(caps)
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 30)
        assert cam.status().fps > 50  # ~2 ms per read in the script
    finally:
        cam.disconnect()


# -- imaging ------------------------------------------------------------------------------------

def test_fit_image_centre_crops_then_resizes():
    src = np.zeros((40, 80, 3), np.uint8)
    src[:, 20:60] = 255  # the centre square is white, the sides black
    out = fit_image(src, 10, 10)
    assert out.shape == (10, 10, 3) and out.min() == 255
    plan = crop_resize_plan(80, 40, 10, 10)
    assert (plan.x0, plan.y0, plan.crop_width, plan.crop_height) == (20, 0, 40, 40)
    tall = fit_image(np.zeros((90, 40, 3), np.uint8), 20, 30)
    assert tall.shape == (30, 20, 3)
    assert fit_image(src, 80, 40) is src


def test_fit_depth_is_nearest_neighbour():
    depth = np.zeros((4, 8), np.float32)
    depth[:, 4:] = 2.0
    out = fit_depth(depth, 4, 2)
    assert set(np.unique(out)) <= {0.0, 2.0}


def test_fit_intrinsics_moves_the_principal_point_with_the_crop():
    fx, fy, cx, cy = fit_intrinsics(100, 100, 39.5, 19.5, 80, 40, 20, 20)
    assert (fx, fy) == (50, 50) and cx == pytest.approx(9.5) and cy == pytest.approx(9.5)


def test_to_rgb_converts_orders_and_rejects_other_types():
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 0] = 255
    assert to_rgb(bgr, "bgr")[0, 0].tolist() == [0, 0, 255]
    assert to_rgb(np.full((2, 2), 9, np.uint8)).shape == (2, 2, 3)
    with pytest.raises(ValueError):
        to_rgb(np.zeros((2, 2, 3), np.float32))


# -- clock mapping ------------------------------------------------------------------------------

def test_clock_mapper_removes_delivery_jitter():
    rng = np.random.default_rng(0)
    mapper = ClockMapper(window_s=10)
    true_offset = 1000.0 - 3.0
    mapped = []
    for i in range(200):
        device = 3.0 + i / 30
        arrival = device + true_offset + 0.004 + rng.exponential(0.006)  # 4 ms fixed + jitter
        mapped.append(mapper.map(device, arrival) - (device + true_offset))
    late = np.array(mapped[50:])
    assert late.max() - late.min() < 0.0015  # jitter of ~6 ms gone from capture times
    assert np.all(late >= 0.004 - 1e-9) and np.all(late < 0.006)


def test_clock_mapper_resets_when_the_device_clock_jumps_back():
    mapper = ClockMapper()
    mapper.map(10.0, 110.0)
    assert mapper.offset == pytest.approx(100.0)
    assert mapper.map(1.0, 120.0) == pytest.approx(120.0)
    assert mapper.offset == pytest.approx(119.0)


def test_clock_mapper_follows_drift_through_its_window():
    mapper = ClockMapper(window_s=1.0)
    for i in range(300):
        device = i * 0.01
        mapper.map(device, device * 1.001 + 5.0)  # host runs 1000 ppm faster
    assert mapper.offset == pytest.approx(5.0 + 2.99 * 0.001 - 0.001, abs=0.0005)


def test_connected_before_the_first_frame_then_stalled_if_none_comes():
    cam = ScriptedCamera([])
    cam.connect()
    try:
        assert cam.status().state == "connected" and cam.is_connected
        assert wait_for(lambda: cam.status().state == "stalled", 1.0)
        assert cam.read_latest() is None
    finally:
        cam.disconnect()


def test_a_camera_whose_reader_hung_refuses_to_reconnect_until_it_returns():
    cam = ScriptedCamera(["hang"])
    cam.connect()
    cam.disconnect()
    try:
        with pytest.raises(CameraError, match="still stuck"):
            cam.connect()
    finally:
        cam.release.set()
    assert wait_for(lambda: not cam._abandoned.is_alive())
    cam.steps = [Capture(img(4))]
    cam.connect()
    try:
        assert wait_for(lambda: cam.status().frames_captured == 1)
    finally:
        cam.disconnect()
