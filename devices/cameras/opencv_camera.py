"""UVC webcams and video files through OpenCV, by one code path.

A webcam is opened with the V4L2 backend and asked for MJPG (so 30 fps at 640x480 and above fits
USB 2 bandwidth), the configured size and rate, and a driver queue of ONE buffer: with the default
queue of four, `read()` hands back a frame that waited up to four periods, i.e. up to 130 ms stale
at 30 fps. The V4L2 buffer time (CAP_PROP_POS_MSEC, stamped by the kernel when the frame was
complete) is used as the device time and mapped onto the recorder's clock.

A video file goes through the same reading, conversion and timing code, paced to its frame rate so
that it behaves like a live camera (frames that are not read in time are overwritten, as on a real
device). Its presentation time plays the part of the device time. This is how the UVC path is
tested without a webcam, and how the benchmark drives several cameras at once.
"""

from __future__ import annotations

import math
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

    def _configure_device(self, cap: cv2.VideoCapture) -> None:
        """Ask the driver for format, size, rate and a one-frame queue (it may refuse some)."""
        if self._fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self._fourcc))
        if self._capture_size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._capture_size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._capture_size[1])
        cap.set(cv2.CAP_PROP_FPS, self.settings.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, self._buffer_size)
        # Bound each read so the thread notices a stop request even when the device goes silent.
        cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, self._read_timeout_ms)

    def _read(self) -> Capture | None:
        cap = self._cap
        if cap is None:
            raise OSError("device is not open")
        if self._is_file:
            return self._read_file(cap)
        ok, image = cap.read()
        if not ok or image is None:
            raise OSError(f"no frame from {self._source!r} within {self._read_timeout_ms} ms")
        stamp_ms = cap.get(cv2.CAP_PROP_POS_MSEC)  # V4L2 buffer time; 0 where the backend has none
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
        if cap is not None:
            cap.release()


def _looks_like_file(source: str | int) -> bool:
    """An int or /dev/videoN is a device; any other path is a file."""
    if isinstance(source, int):
        return False
    text = str(source)
    return not (text.startswith("/dev/") or text.isdigit())
