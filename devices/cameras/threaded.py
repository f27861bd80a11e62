"""`ThreadedCamera`: a reader thread fills a newest-frame slot; callers only ever take the slot.

The recorder reads every camera at each 10 Hz tick. It must never wait on a device: a USB camera
that hangs in a driver call, raises, or is unplugged must cost the tick nothing. So all device
work (open, read, decode, colour conversion, resizing, clock mapping) happens on the camera's own
thread, and `read_latest` only takes a lock held for a few assignments. A backend that hangs
leaves the slot as it was and the status turns "stalled"; one that raises turns "error" with its
message, and the thread closes and reopens the device with back-off until `disconnect`.

Subclasses implement three device calls — `_open`, `_read`, `_close` — and describe themselves
with `_native_info`; everything else (timing, counting, status, resizing) is shared.
"""

from __future__ import annotations

import threading
import time
from abc import abstractmethod
from collections import deque
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from devices.camera import Camera, CameraError, CameraInfo, CameraStatus, Frame
from devices.cameras.clock_map import ClockMapper
from devices.cameras.imaging import fit_depth, fit_image, fit_intrinsics, to_rgb

Clock = Callable[[], float]


class EndOfStream(Exception):
    """A finite source (a recording, a video file) has no more frames: not an error."""


@dataclass(frozen=True)
class Capture:
    """One frame as a backend read it, before the shared fitting and timing."""

    image: np.ndarray  # HxW, HxWx3 or HxWx4 uint8, channel order given by ``order``
    order: str = "rgb"  # "rgb" or "bgr"
    device_time_s: float | None = None  # the device's own capture stamp, if it has one
    sequence: int | None = None  # the device's frame counter, if it has one
    depth: np.ndarray | None = None  # HxW float32 metres, already aligned to ``image``


@dataclass(frozen=True)
class CaptureSettings:
    """How the shared reader loop treats a device."""

    width: int  # output size after centre-crop and resize
    height: int
    fps: float = 30.0  # nominal device rate: used to count drops from timestamp gaps and to call a stall
    stall_after_s: float | None = None  # no frame for this long → "stalled" (default max(0.5, 5 frame periods))
    open_timeout_s: float = 5.0  # connect() waits this long for the device to open
    reconnect_backoff_s: tuple[float, float] = (0.2, 5.0)  # first and longest wait between reopen attempts
    join_timeout_s: float = 1.0  # disconnect() waits this long for a hung backend before leaving it behind

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera output size must be positive, got {self.width}x{self.height}")
        if not self.fps > 0:
            raise ValueError(f"camera fps must be positive, got {self.fps}")

    @property
    def stall_s(self) -> float:
        return self.stall_after_s if self.stall_after_s is not None else max(0.5, 5.0 / self.fps)


class ThreadedCamera(Camera):
    """Base of every device camera: reader thread + stop event + lock + newest-frame slot."""

    def __init__(self, name: str, settings: CaptureSettings, *, mount: str = "scene",
                 clock: Clock = time.monotonic) -> None:
        self._name = name
        self._settings = settings
        self._mount = mount
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._abandoned: threading.Thread | None = None  # a reader that hung and was left behind
        self._clock_map = ClockMapper()
        self._reset_counters()

    # -- what subclasses implement (all called on the reader thread only) -----------------------
    @abstractmethod
    def _open(self) -> None:
        """Open the device and start it streaming. Raise on failure (the message is shown)."""

    @abstractmethod
    def _read(self) -> Capture | None:
        """Wait for the next frame (bounded, ideally ≤ 1 s) and return it; None on a timeout.

        Raise `EndOfStream` when a finite source is exhausted, anything else on a device error.
        """

    @abstractmethod
    def _close(self) -> None:
        """Release the device. Must not raise for a device that is already gone."""

    @abstractmethod
    def _native_info(self) -> CameraInfo:
        """Intrinsics, serial and size as the device delivers frames (before fitting)."""

    # -- Camera protocol ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def settings(self) -> CaptureSettings:
        return self._settings

    @property
    def info(self) -> CameraInfo:
        """What the stored images are: the configured size, intrinsics transformed to it."""
        native = self._native_info()
        w, h = self._settings.width, self._settings.height
        fx, fy, cx, cy = native.fx, native.fy, native.cx, native.cy
        if native.width > 0 and native.height > 0:
            fx, fy, cx, cy = fit_intrinsics(fx, fy, cx, cy, native.width, native.height, w, h)
        extra = dict(native.extra)
        extra.setdefault("native_size", [native.width, native.height])
        return replace(native, name=self._name, width=w, height=h, mount=self._mount, fx=fx, fy=fy, cx=cx, cy=cy,
                       extra=extra)

    def connect(self) -> None:
        """Start the reader thread and wait (at most ``open_timeout_s``) for the device to open.

        Raises `CameraError` with the device's own message if it cannot be opened; a device that
        opens but later fails is reopened by the thread and reported through `status`.
        """
        if self._thread is not None and self._thread.is_alive():
            return
        if self._abandoned is not None and self._abandoned.is_alive():
            raise CameraError(f"camera {self._name!r}: its previous reader is still stuck in a device call; "
                              "unplug and replug the device or restart the program")
        self._stop.clear()
        self._opened.clear()
        self._reset_counters()
        with self._lock:
            self._state = "connecting"
        self._thread = threading.Thread(target=self._run, name=f"camera-{self._name}", daemon=True)
        self._thread.start()
        if not self._opened.wait(self._settings.open_timeout_s):
            self.disconnect()
            raise CameraError(f"camera {self._name!r}: did not open within {self._settings.open_timeout_s:g} s")
        with self._lock:
            failed = self._state == "error" and self._frames_captured == 0 and not self._ever_opened
            error = self._last_error
        if failed:
            self.disconnect()
            raise CameraError(f"camera {self._name!r}: cannot open: {error}")

    def disconnect(self) -> None:
        """Stop the thread. A backend hung inside a driver call is left behind (daemon) after a bounded wait."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(self._settings.join_timeout_s)
        with self._lock:
            if thread is not None and thread.is_alive():
                self._abandoned = thread
                self._state = "error"
                self._last_error = (f"backend did not stop within {self._settings.join_timeout_s:g} s "
                                    "(hung in a device call); left behind")
            else:
                self._state = "disconnected"

    @property
    def is_connected(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ever_opened

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        with self._lock:
            frame = self._slot
        if frame is None:
            return None
        if max_age_s is not None and self._clock() - frame.timestamp > max_age_s:
            return None
        return frame

    def status(self) -> CameraStatus:
        now = self._clock()
        with self._lock:
            state, error, slot = self._state, self._last_error, self._slot
            captured, dropped = self._frames_captured, self._frames_dropped
            arrivals = list(self._arrivals)
        age = None if slot is None else now - slot.timestamp
        fps = 0.0
        recent = [t for t in arrivals if t >= now - 2.0]
        if len(recent) >= 2 and recent[-1] > recent[0]:
            fps = (len(recent) - 1) / (recent[-1] - recent[0])
        if state in ("connected", "streaming"):
            last = arrivals[-1] if arrivals else self._streaming_since
            if last is not None and now - last > self._settings.stall_s:
                state = "stalled"
        if state != "streaming":
            fps = 0.0
        return CameraStatus(state=state, last_error=error, fps=fps, frames_captured=captured,
                            frames_dropped=dropped, last_frame_age_s=age)

    # -- the reader thread ----------------------------------------------------------------------
    def _reset_counters(self) -> None:
        self._slot: Frame | None = None
        self._state = "disconnected"
        self._last_error = ""
        self._frames_captured = 0
        self._frames_dropped = 0
        self._index = -1
        self._last_sequence: int | None = None
        self._last_device_time: float | None = None
        self._arrivals: deque[float] = deque(maxlen=256)
        self._streaming_since: float | None = None
        self._ever_opened = False
        self._clock_map.reset()

    def _run(self) -> None:
        backoff_first, backoff_max = self._settings.reconnect_backoff_s
        backoff = backoff_first
        while not self._stop.is_set():
            try:
                self._open()
            except Exception as exc:  # noqa: BLE001 - any driver error becomes the status line
                self._set_error(exc)
                self._opened.set()
                if not self._ever_opened:
                    return  # never opened: connect() reports it; do not retry a wrong serial forever
                self._stop.wait(backoff)
                backoff = min(backoff * 2, backoff_max)
                continue
            with self._lock:
                self._ever_opened = True
                self._state = "connected"  # "streaming" from the first frame on
                self._streaming_since = self._clock()
                self._last_sequence = None
                self._last_device_time = None
            self._clock_map.reset()
            self._opened.set()
            backoff = backoff_first
            ended = self._stream()
            self._safe_close()
            if ended:
                return
            if not self._stop.is_set():
                self._stop.wait(backoff)
                backoff = min(backoff * 2, backoff_max)

    def _stream(self) -> bool:
        """Read until stopped (False), a device error (False, reopen) or the end of a file (True)."""
        while not self._stop.is_set():
            try:
                capture = self._read()
                if capture is None:
                    continue
                arrival = self._clock()
                self._store(capture, arrival)
            except EndOfStream:
                with self._lock:
                    self._state = "ended"
                return True
            except Exception as exc:  # noqa: BLE001 - a read error: show it, reopen the device
                self._set_error(exc)
                return False
        return False

    def _store(self, capture: Capture, arrival: float) -> None:
        s = self._settings
        image = fit_image(to_rgb(capture.image, capture.order), s.width, s.height)
        depth = None if capture.depth is None else fit_depth(capture.depth, s.width, s.height)
        if capture.device_time_s is not None:
            timestamp = self._clock_map.map(capture.device_time_s, arrival)
        else:
            timestamp = arrival
        gap = self._gap(capture)
        with self._lock:
            self._index += 1 + gap
            self._frames_dropped += gap
            self._frames_captured += 1
            self._arrivals.append(arrival)
            self._slot = Frame(image=image, timestamp=timestamp, index=self._index, depth=depth)
            self._state = "streaming"  # a frame after an error: recovered (the error line stays)

    def _gap(self, capture: Capture) -> int:
        """Frames the device produced but we never got, from its counter or else its timestamps."""
        gap = 0
        if capture.sequence is not None:
            if self._last_sequence is not None and capture.sequence > self._last_sequence + 1:
                gap = capture.sequence - self._last_sequence - 1
            self._last_sequence = capture.sequence
        elif capture.device_time_s is not None:
            if self._last_device_time is not None:
                periods = (capture.device_time_s - self._last_device_time) * self._settings.fps
                if periods > 1.5:
                    gap = int(round(periods)) - 1
            self._last_device_time = capture.device_time_s
        return gap

    def _set_error(self, exc: BaseException) -> None:
        line = " ".join(str(exc).split()) or type(exc).__name__
        with self._lock:
            self._state = "error"
            self._last_error = line

    def _safe_close(self) -> None:
        try:
            self._close()
        except Exception as exc:  # noqa: BLE001 - closing a vanished device: report, carry on
            with self._lock:
                self._last_error = self._last_error or f"close failed: {' '.join(str(exc).split())}"
