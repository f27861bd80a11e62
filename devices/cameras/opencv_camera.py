"""UVC webcams and video files through OpenCV, by one code path.

A webcam is opened with the V4L2 backend and asked for MJPG (so 30 fps at 640x480 and above fits
USB 2 bandwidth), the configured size and rate, and a driver queue of ONE buffer: with the default
queue of four, `read()` hands back a frame that waited up to four periods, i.e. up to 130 ms stale
at 30 fps. Drivers may keep more buffers than asked, so the size is read back and reported
(``info.extra["buffer_size"]``); either way frames stay fresh, because a webcam is read by its own
grabber thread that calls ``read()`` back to back and keeps only the newest frame (the queue never
fills).

That grabber is also what bounds a stalled webcam: OpenCV's V4L2 backend ignores
``CAP_PROP_READ_TIMEOUT_MSEC`` and waits about 10 s inside ``read()`` for a frame that does not
come. The camera's reader thread waits for the grabber's next frame at most ``read_timeout_ms``,
reports "no frame within ..." and reopens, and ``disconnect()`` never waits on the blocked call
(the grabber releases its capture when the call finally returns). The V4L2 buffer time (CAP_PROP_POS_MSEC, stamped by the kernel when the frame was
complete) is used as the device time and mapped onto the recorder's clock.

A video file goes through the same reading, conversion and timing code, paced to its frame rate so
that it behaves like a live camera (frames that are not read in time are overwritten, as on a real
device). Its presentation time plays the part of the device time. This is how the UVC path is
tested without a webcam, and how the benchmark drives several cameras at once.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import cv2

from devices.camera import CameraInfo
from devices.cameras.threaded import Capture, CaptureSettings, Clock, EndOfStream, ThreadedCamera


def _fourcc_text(value: float) -> str:
    code = int(value)
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00")


class OpenCVCamera(ThreadedCamera):
    """A camera read with ``cv2.VideoCapture``: a UVC device (path or index) or a video file.

    ``intrinsics`` (fx, fy, cx, cy) are at the native capture size, e.g. from a calibration; UVC
    devices do not report them, so without a calibration they are NaN.
    """

    def __init__(self, name: str, source: str | int, settings: CaptureSettings, *, mount: str = "scene",
                 clock: Clock = time.monotonic, capture_size: tuple[int, int] | None = None,
                 fourcc: str | None = "MJPG", buffer_size: int = 1, is_file: bool | None = None,
                 loop: bool = False, pace_fps: float | None = None, read_timeout_ms: int = 1000,
                 intrinsics: tuple[float, float, float, float] | None = None, serial: str = "") -> None:
        super().__init__(name, settings, mount=mount, clock=clock)
        self._source = source
        self._is_file = _looks_like_file(source) if is_file is None else is_file
        self._capture_size = capture_size
        self._fourcc = fourcc
        self._buffer_size = buffer_size
        self._loop = loop
        self._pace_fps = pace_fps
        self._read_timeout_ms = read_timeout_ms
        self._intrinsics = intrinsics
        self._serial = serial or str(source)
        self._cap: cv2.VideoCapture | None = None
        self._native_size = capture_size or (0, 0)
        self._fourcc_in_use = ""
        self._file_fps = settings.fps
        self._pace_start = 0.0
        self._played = 0  # frames delivered from a file since opening (across loops)
        self._buffers_in_use: int | None = None
        self._grabber: _Grabber | None = None
        self._seen = 0  # grabber frames already handed on

    @property
    def source(self) -> str | int:
        return self._source

    def _native_info(self) -> CameraInfo:
        w, h = self._native_size
        fx = fy = cx = cy = math.nan
        if self._intrinsics is not None:
            fx, fy, cx, cy = self._intrinsics
        kind = "video file" if self._is_file else "uvc"
        extra = {"source": str(self._source), "backend": kind}
        if self._fourcc_in_use:
            extra["fourcc"] = self._fourcc_in_use
        if self._buffers_in_use is not None:
            extra["buffer_size"] = self._buffers_in_use
            if self._buffers_in_use != self._buffer_size:
                extra["buffer_note"] = (f"driver kept {self._buffers_in_use} buffers (asked {self._buffer_size}); "
                                        "the grabber thread drains them, so frames stay fresh")
        return CameraInfo(name=self.name, width=w, height=h, serial=self._serial, fx=fx, fy=fy, cx=cx, cy=cy,
                          model=f"opencv {kind}", extra=extra)

    # -- device calls (reader thread) -----------------------------------------------------------
    def _open(self) -> None:
        if self._is_file:
            if not Path(str(self._source)).is_file():
                raise FileNotFoundError(f"no video file at {self._source}")
            cap = cv2.VideoCapture(str(self._source))
        else:
            device = int(self._source) if str(self._source).isdigit() else self._source
            cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open {self._source!r} (busy, unplugged, or not a video device)")
        if self._is_file:
            file_fps = cap.get(cv2.CAP_PROP_FPS)
            self._file_fps = self._pace_fps or (file_fps if file_fps > 0 else self.settings.fps)
            self._played = 0
            self._pace_start = self._clock()
        else:
            self._configure_device(cap)
        self._native_size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._fourcc_in_use = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        self._cap = cap
        if not self._is_file:
            self._grabber = _Grabber(cap, f"camera-{self.name}-grab")
            self._seen = 0

    def _configure_device(self, cap: cv2.VideoCapture) -> None:
        """Ask the driver for format, size, rate and a one-frame queue (it may refuse some)."""
        if self._fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self._fourcc))
        if self._capture_size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._capture_size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._capture_size[1])
        cap.set(cv2.CAP_PROP_FPS, self.settings.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, self._buffer_size)
        self._buffers_in_use = int(cap.get(cv2.CAP_PROP_BUFFERSIZE))  # what the driver really kept

    def _read(self) -> Capture | None:
        cap = self._cap
        if cap is None:
            raise OSError("device is not open")
        if self._is_file:
            return self._read_file(cap)
        assert self._grabber is not None
        got = self._grabber.next_after(self._seen, self._read_timeout_ms / 1000.0)
        if got is None:
            raise OSError(f"no frame from {self._source!r} within {self._read_timeout_ms} ms (device stalled)")
        self._seen, image, stamp_ms = got
        return Capture(image=image, order="bgr", device_time_s=stamp_ms / 1000.0 if stamp_ms > 0 else None)

    def _read_file(self, cap: cv2.VideoCapture) -> Capture | None:
        # Pace like a live camera: frame n is "exposed" at start + n / fps on the recorder's clock.
        due = self._pace_start + self._played / self._file_fps
        wait = due - self._clock()
        if wait > 0 and self._stop.wait(wait):
            return None
        ok, image = cap.read()
        if not ok or image is None:
            if not self._loop or self._played == 0:
                raise EndOfStream()
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = cap.read()
            if not ok or image is None:
                raise OSError(f"cannot rewind {self._source}")
        sequence = self._played
        self._played += 1
        return Capture(image=image, order="bgr", device_time_s=sequence / self._file_fps, sequence=sequence)

    def _close(self) -> None:
        cap, self._cap = self._cap, None
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            grabber.stop()  # it releases the capture itself, once a blocked read() returns
        elif cap is not None:
            cap.release()


class _Grabber:
    """Calls ``read()`` on one webcam back to back on its own thread and keeps the newest frame.

    Why a thread of its own: a V4L2 ``read()`` can block ~10 s on a stalled device whatever
    timeout is set, and only a thread that is allowed to stay blocked keeps the camera's reader
    (and whoever waits for it) on its own bounded timeout."""

    def __init__(self, cap: cv2.VideoCapture, name: str) -> None:
        self._cap = cap
        self._cond = threading.Condition()
        self._latest: tuple[int, object, float] | None = None  # (count, image, V4L2 stamp ms)
        self._failed = ""
        self._stopping = False
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        count = 0
        try:
            while not self._stopping:
                ok, image = self._cap.read()
                if not ok or image is None:
                    with self._cond:
                        self._failed = "read failed (unplugged or driver error)"
                        self._cond.notify_all()
                    return
                stamp_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC))  # V4L2 buffer time; 0 if none
                count += 1
                with self._cond:
                    self._latest = (count, image, stamp_ms)
                    self._cond.notify_all()
        finally:
            self._cap.release()

    def next_after(self, seen: int, timeout_s: float) -> tuple[int, object, float] | None:
        """The newest frame newer than number ``seen``, waiting at most ``timeout_s``; None if none came.
        Raises OSError once the device failed."""
        with self._cond:
            self._cond.wait_for(lambda: self._failed or (self._latest is not None and self._latest[0] > seen),
                                timeout_s)
            if self._latest is not None and self._latest[0] > seen:
                return self._latest
            if self._failed:
                raise OSError(self._failed)
            return None

    def stop(self) -> None:
        self._stopping = True


def _looks_like_file(source: str | int) -> bool:
    """An int or /dev/videoN is a device; any other path is a file."""
    if isinstance(source, int):
        return False
    text = str(source)
    return not (text.startswith("/dev/") or text.isdigit())
