"""Intel RealSense cameras through ``pyrealsense2``: colour, optional depth aligned to colour.

Each camera runs its own `rs.pipeline` on its own reader thread, selected by serial number, so
several cameras stream at once without sharing a queue. Frames carry the device's hardware
timestamp (milliseconds on the camera's clock, or on the host's for the "global time" domain);
it is mapped onto the recorder's clock by `ClockMapper`, and the device's frame counter gives
exact drop counts. With depth enabled, `rs.align(rs.stream.color)` reprojects depth into the
colour camera so pixel (u, v) of ``Frame.depth`` is the distance along the ray of colour pixel
(u, v); depth is returned in metres (raw units × the sensor's depth scale).

Depth is requested at its own resolution, not the colour one: the D400 depth sensor streams only
1280x720, 848x480, 640x480, 640x360, 480x270 and 424x240 (plus 256x144), while colour goes up to
1920x1080, so 1920x1080 colour with depth at 1920x1080 cannot start ("Couldn't resolve requests").
Unless ``depth_size`` says otherwise, depth takes the largest depth mode no wider than the colour
stream with the colour stream's aspect ratio (1920x1080 → 1280x720), else 848x480; `rs.align` then
brings it to the colour size, so ``Frame.depth`` always matches ``Frame.image``.

A recording (``.db3`` from librealsense ≥ 2.56, ``.bag`` before) is played through the very same
pipeline with ``config.enable_device_from_file`` — the way the tests exercise this module.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pyrealsense2 as rs

from devices.camera import CameraInfo
from devices.cameras.threaded import Capture, CaptureSettings, Clock, EndOfStream, ThreadedCamera

# Colour formats a RealSense colour stream may deliver → how to make RGB of them.
_COLOR_FORMATS = {
    rs.format.rgb8: ("rgb", None),
    rs.format.bgr8: ("bgr", None),
    rs.format.rgba8: ("rgb", None),
    rs.format.bgra8: ("bgr", None),
    rs.format.y8: ("rgb", None),
    rs.format.yuyv: ("rgb", cv2.COLOR_YUV2RGB_YUYV),
    rs.format.uyvy: ("rgb", cv2.COLOR_YUV2RGB_UYVY),
}


# Depth modes of the D400 family's depth sensor (librealsense's D400 stream profiles), largest first.
DEPTH_SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (848, 480), (640, 480), (640, 360), (480, 270),
                                            (424, 240), (256, 144))


def depth_size_for(color_size: tuple[int, int]) -> tuple[int, int]:
    """The depth mode to pair with a colour size: itself where the depth sensor has it, else the
    largest depth mode no wider than it with (within 2 %) its aspect ratio, else 848x480."""
    if tuple(color_size) in DEPTH_SIZES:
        return (int(color_size[0]), int(color_size[1]))
    w, h = color_size
    for dw, dh in DEPTH_SIZES:
        if dw <= w and abs(dw / dh - w / h) <= 0.02 * (w / h):
            return (dw, dh)
    return (848, 480)


@dataclass(frozen=True)
class RealSenseDevice:
    """A connected RealSense camera as enumeration sees it."""

    serial: str
    name: str
    firmware: str = ""
    usb_type: str = ""
    product_line: str = ""

    def line(self) -> str:
        usb = f", USB {self.usb_type}" if self.usb_type else ""
        fw = f", firmware {self.firmware}" if self.firmware else ""
        return f"{self.name} (serial {self.serial}{usb}{fw})"


def _info(dev: "rs.device", key: "rs.camera_info") -> str:
    return dev.get_info(key) if dev.supports(key) else ""


def list_realsense_devices(context: "rs.context | None" = None) -> list[RealSenseDevice]:
    """Every RealSense camera the SDK sees now (empty with none plugged in)."""
    ctx = context or rs.context()
    found = []
    for dev in ctx.query_devices():
        found.append(RealSenseDevice(
            serial=_info(dev, rs.camera_info.serial_number), name=_info(dev, rs.camera_info.name),
            firmware=_info(dev, rs.camera_info.firmware_version),
            usb_type=_info(dev, rs.camera_info.usb_type_descriptor),
            product_line=_info(dev, rs.camera_info.product_line)))
    return found


class RealSenseCamera(ThreadedCamera):
    """One RealSense camera (by ``serial``, or the only one plugged in) or one recording (``recording``).

    ``capture_size`` (width, height) and ``settings.fps`` pick the colour stream mode on a live
    device; ``depth_size`` the depth mode (default: ``depth_size_for(capture_size)``); a recording
    plays the modes it holds. ``realtime=False`` plays a recording as fast as
    it is read (tests); ``loop`` plays it over and over.
    """

    def __init__(self, name: str, settings: CaptureSettings, *, serial: str = "", recording: str | Path | None = None,
                 capture_size: tuple[int, int] = (640, 480), depth: bool = False,
                 depth_size: tuple[int, int] | None = None, mount: str = "scene",
                 clock: Clock = time.monotonic, loop: bool = False, realtime: bool = True,
                 frame_timeout_ms: int = 1000, reopen_after_s: float = 5.0) -> None:
        super().__init__(name, settings, mount=mount, clock=clock)
        self._serial = serial
        self._recording = Path(recording) if recording is not None else None
        self._capture_size = capture_size
        self._depth = depth
        if depth_size is not None and tuple(depth_size) not in DEPTH_SIZES:
            raise ValueError(f"RealSense depth size {depth_size[0]}x{depth_size[1]} is not a depth mode "
                             f"(choose one of {', '.join(f'{w}x{h}' for w, h in DEPTH_SIZES)})")
        self._depth_size = tuple(depth_size) if depth_size is not None else depth_size_for(capture_size)
        self._loop = loop
        self._realtime = realtime
        self._frame_timeout_ms = frame_timeout_ms
        self._reopen_after_s = reopen_after_s
        self._pipeline: rs.pipeline | None = None
        self._align: rs.align | None = None
        self._playback: rs.playback | None = None
        self._depth_scale = 0.0
        self._silent_since: float | None = None
        self._last_color: tuple[int, float] | None = None
        self._native = CameraInfo(name=name, width=capture_size[0], height=capture_size[1], serial=serial,
                                  model="realsense")

    @property
    def has_depth(self) -> bool:
        return self._depth

    def _native_info(self) -> CameraInfo:
        return self._native

    # -- device calls (reader thread) -----------------------------------------------------------
    def _open(self) -> None:
        config = rs.config()
        if self._recording is not None:
            if not self._recording.is_file():
                raise FileNotFoundError(f"no RealSense recording at {self._recording}")
            config.enable_device_from_file(str(self._recording), repeat_playback=self._loop)
            config.enable_stream(rs.stream.color)  # the recording fixes size, format and rate
            if self._depth:
                config.enable_stream(rs.stream.depth)
        else:
            connected = [d.serial for d in list_realsense_devices()]
            if self._serial and self._serial not in connected:
                # Checked first: pipeline.start would wait ~15 s for a device that is not there.
                raise OSError(f"no RealSense camera with serial {self._serial} "
                              f"(connected: {', '.join(connected) or 'none'})")
            if not connected:
                raise OSError("no RealSense camera connected")
            if self._serial:
                config.enable_device(self._serial)
            w, h = self._capture_size
            config.enable_stream(rs.stream.color, w, h, rs.format.rgb8, int(round(self.settings.fps)))
            if self._depth:
                dw, dh = self._depth_size
                config.enable_stream(rs.stream.depth, dw, dh, rs.format.z16, int(round(self.settings.fps)))
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as exc:
            which = f"recording {self._recording}" if self._recording else f"serial {self._serial or '(any)'}"
            raise OSError(f"RealSense {which}: {exc}") from exc
        try:
            self._describe(profile)
        except Exception:
            pipeline.stop()
            raise
        self._pipeline = pipeline
        self._align = rs.align(rs.stream.color) if self._depth else None
        self._silent_since = None
        self._last_color = None

    def _describe(self, profile: "rs.pipeline_profile") -> None:
        device = profile.get_device()
        if device.is_playback():
            self._playback = device.as_playback()
            self._playback.set_real_time(self._realtime)
        color = profile.get_stream(rs.stream.color).as_video_stream_profile()
        intr = color.get_intrinsics()
        if color.format() not in _COLOR_FORMATS:
            raise OSError(f"unsupported RealSense colour format {color.format()}")
        if self._depth:
            sensor = device.first_depth_sensor()
            self._depth_scale = float(sensor.get_depth_scale())
            if not self._depth_scale > 0:
                raise OSError("the depth sensor reports no depth scale")
        extra = {"distortion": str(intr.model).split(".")[-1], "coeffs": [float(c) for c in intr.coeffs],
                 "color_format": str(color.format()).split(".")[-1], "depth": self._depth,
                 **({"depth_size": list(self._depth_size), "depth_aligned_to": "color"}
                    if self._depth and self._recording is None else {}),
                 "firmware": _info(device, rs.camera_info.firmware_version)}
        if self._recording is not None:
            extra["recording"] = str(self._recording)
        self._native = CameraInfo(name=self.name, width=intr.width, height=intr.height,
                                  serial=_info(device, rs.camera_info.serial_number),
                                  fx=intr.fx, fy=intr.fy, cx=intr.ppx, cy=intr.ppy,
                                  model=f"realsense {_info(device, rs.camera_info.name)}".strip(), extra=extra)

    def _read(self) -> Capture | None:
        pipeline = self._pipeline
        if pipeline is None:
            raise OSError("pipeline is not running")
        ok, frames = pipeline.try_wait_for_frames(self._frame_timeout_ms)
        if not ok:
            if self._playback is not None and self._playback.current_status() == rs.playback_status.stopped:
                raise EndOfStream()
            now = self._clock()
            self._silent_since = self._silent_since if self._silent_since is not None else now
            if now - self._silent_since > self._reopen_after_s:
                raise OSError(f"no frames for {self._reopen_after_s:g} s")
            return None
        self._silent_since = None
        if self._align is not None:
            frames = self._align.process(frames)
        color = frames.get_color_frame()
        if not color:
            return None
        # The pipeline re-sends the last colour frame with each new depth frame: take each once.
        key = (color.get_frame_number(), color.get_timestamp())
        if key == self._last_color:
            return None
        self._last_color = key
        return self._to_capture(color, frames.get_depth_frame() if self._depth else None)

    def _to_capture(self, color: "rs.video_frame", depth: "rs.depth_frame | None") -> Capture:
        """The one frame → image path: RealSense frame to RGB array, hardware time, counter, depth."""
        order, conversion = _COLOR_FORMATS[color.get_profile().format()]
        data = np.asanyarray(color.get_data())
        image = cv2.cvtColor(data, conversion) if conversion is not None else data.copy()
        depth_m = None
        if depth:
            depth_m = np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(self._depth_scale)
        return Capture(image=image, order=order, device_time_s=color.get_timestamp() / 1000.0,
                       sequence=int(color.get_frame_number()), depth=depth_m)

    def _close(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        self._playback = None
        if pipeline is not None:
            with contextlib.suppress(RuntimeError):  # already stopped (unplugged, or a recording that ended)
                pipeline.stop()
