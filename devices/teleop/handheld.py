"""Handheld instrumented gripper: pose from a tracker on it, jaw width from ArUco markers on its fingers.

The operator carries the gripper itself (as in UMI-style rigs). Its pose comes from an OpenXR
tracker or controller mounted on it (the same ``OpenXRAdapter`` as the VR controller), and its jaw
opening from the wrist camera: two ArUco markers, one on each finger, are detected in every frame
and the pixel distance between their centres becomes a width through a calibration fitted from
frames at known widths (a straight line; fingers move in a plane at a fixed depth from the camera,
so pixel distance is close to linear in width). The wrist camera stays an ordinary
``devices.camera.Camera``, recorded like any other.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from devices.camera import Camera, CameraError, CameraInfo, Frame
from devices.connection import NothingToOpen
from devices.geometry import quat_to_matrix
from devices.teleop.command import ButtonAction, DeviceSample, MotionMode, RawEvent
from devices.teleop.device import CommandParts, TeleopDevice, Transport
from devices.teleop.errors import DeviceLost, MalformedInput
from devices.teleop.openxr_adapter import OpenXRAdapter, XrSample
from devices.teleop.settings import ClutchMode, DeviceSettings, MapperSettings
from devices.teleop.vr import XrSource, xr_problem, xr_sample_to_device_sample


@dataclass(frozen=True)
class JawCalibration:
    """width = slope * pixel_distance + intercept, fitted from (pixel distance, width in m) points."""

    slope: float
    intercept: float

    @classmethod
    def fit(cls, points: Sequence[tuple[float, float]]) -> "JawCalibration":
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
            raise ValueError("jaw calibration needs at least 2 (pixel distance, width) points")
        if not np.all(np.isfinite(pts)):
            raise ValueError("jaw calibration points must be finite numbers")
        if np.ptp(pts[:, 0]) < 1.0:
            raise ValueError("jaw calibration points must be at clearly different openings "
                             f"(marker distances {pts[:, 0].tolist()} px)")
        slope, intercept = np.polyfit(pts[:, 0], pts[:, 1], 1)
        if slope <= 0:
            raise ValueError("jaw calibration is inverted: wider jaws must show markers further apart")
        return cls(float(slope), float(intercept))

    def width(self, pixel_distance: float) -> float:
        return max(0.0, self.slope * pixel_distance + self.intercept)


class ArucoJawSensor:
    """Finds the two finger markers in an RGB image; returns the distance of their centres in pixels."""

    def __init__(self, dictionary: str = "DICT_4X4_50", left_id: int = 0, right_id: int = 1) -> None:
        import cv2

        if not hasattr(cv2.aruco, dictionary):
            raise ValueError(f"unknown ArUco dictionary {dictionary!r} (e.g. DICT_4X4_50)")
        self._cv2 = cv2
        self.ids = (left_id, right_id)
        self._detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary)),
                                                 cv2.aruco.DetectorParameters())

    def centres(self, image: np.ndarray) -> dict[int, np.ndarray]:
        """Centre (x, y) in pixels of every marker of the dictionary found in ``image`` (HxWx3 RGB)."""
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim not in (2, 3):
            raise MalformedInput(f"a wrist image must be HxW(x3) uint8, got {img.dtype} {img.shape}")
        gray = img if img.ndim == 2 else self._cv2.cvtColor(img, self._cv2.COLOR_RGB2GRAY)
        corners, ids, _ = self._detector.detectMarkers(gray)
        if ids is None:
            return {}
        return {int(i): c.reshape(4, 2).mean(axis=0) for i, c in zip(ids.ravel(), corners, strict=True)}

    def measure(self, image: np.ndarray) -> float | None:
        """Pixel distance between the two finger markers, or None when either is not seen."""
        found = self.centres(image)
        if self.ids[0] not in found or self.ids[1] not in found:
            return None
        return float(np.linalg.norm(found[self.ids[0]] - found[self.ids[1]]))


@dataclass(frozen=True)
class HandheldOptions:
    """Marker set-up, the jaw's full opening, and the fitted calibration points."""

    dictionary: str = "DICT_4X4_50"
    left_marker: int = 0
    right_marker: int = 1
    max_width: float = 0.08  # m, fully open: gripper command 0; width 0: command 1
    calibration: tuple[tuple[float, float], ...] = ()  # (marker distance px, width m)
    occlusion_timeout: float = 0.5  # s without markers before the operator is told
    # Where the tool centre point (between the jaw tips) sits in the tracker's own frame, metres
    # (the runtime's grip-space axes: x right, y up, z back towards the wrist). The tracker is
    # mounted off the jaws, so without this a rotation about the jaws moves the tracker on an arc
    # and the robot's TCP would translate.
    tcp_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        offset = np.asarray(self.tcp_offset, dtype=float)
        if offset.shape != (3,) or not np.all(np.isfinite(offset)) or np.linalg.norm(offset) > 0.5:
            raise ValueError(f"handheld tcp_offset must be 3 finite metres within 0.5 m, got {self.tcp_offset}")
        if not (np.isfinite(self.max_width) and self.max_width > 0):
            raise ValueError(f"handheld max_width must be positive metres, got {self.max_width}")
        if self.left_marker == self.right_marker:
            raise ValueError("handheld left_marker and right_marker must be different ids")

    def jaw_calibration(self) -> JawCalibration | None:
        return JawCalibration.fit(self.calibration) if len(self.calibration) >= 2 else None


class PushedFrameCamera(NothingToOpen, Camera):
    """A camera whose frames are handed to it (the replayed wrist camera of a handheld recording)."""

    def __init__(self, name: str = "handheld_wrist") -> None:
        self._name = name
        self._frame: Frame | None = None
        self._index = 0

    @property
    def info(self) -> CameraInfo:
        f = self._frame
        h, w = (f.image.shape[:2] if f is not None else (0, 0))
        return CameraInfo(name=self._name, width=int(w), height=int(h), mount="wrist", model="replay")

    def push(self, image: np.ndarray, timestamp: float) -> None:
        self._frame = Frame(image=image, timestamp=timestamp, index=self._index)
        self._index += 1

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        f = self._frame
        if f is None or (max_age_s is not None and time.monotonic() - f.timestamp > max_age_s):
            return None
        return f


class HandheldTransport(Transport):
    """Interleaves the tracker's OpenXR samples (polled at ``xr_rate_hz``) with new wrist-camera frames."""

    def __init__(self, xr_source: XrSource, camera: Camera, *, xr_rate_hz: float = 90.0, clock=time.monotonic) -> None:
        self.xr_source = xr_source
        self.camera = camera
        self._period = 1.0 / xr_rate_hz
        self._clock = clock
        self._next_xr = 0.0
        self._last_frame: tuple[int, float] | None = None
        self._opened_camera = False

    def open(self) -> None:
        self.xr_source.open()
        if not self.camera.is_connected:
            self.camera.connect()
            self._opened_camera = True
        self._next_xr = self._clock()

    def close(self) -> None:
        self.xr_source.close()
        if self._opened_camera:
            self.camera.disconnect()
            self._opened_camera = False

    def read(self, timeout: float) -> RawEvent | None:
        try:
            frame = self.camera.read_latest()
        except CameraError as exc:
            raise DeviceLost(f"wrist camera {self.camera.info.name}: {exc}") from None
        if frame is not None and (frame.index, frame.timestamp) != self._last_frame:
            self._last_frame = (frame.index, frame.timestamp)
            return RawEvent(self._clock(), "image", frame.image)
        wait = self._next_xr - self._clock()
        if wait > 0:
            time.sleep(min(wait, 0.002, timeout))
            return None
        self._next_xr = max(self._next_xr + self._period, self._clock())
        sample = self.xr_source.poll()
        return None if sample is None else RawEvent(self._clock(), "xr", sample)

    def describe(self) -> dict[str, Any]:
        return {"hand": self.xr_source.hand, "tracker_role": self.xr_source.tracker_role,
                "camera": self.camera.info.name}


class HandheldGripperDevice(TeleopDevice):
    """The handheld gripper: absolute pose from its tracker, gripper command from its jaw width."""

    kind = "handheld"
    mode = MotionMode.ABSOLUTE

    def __init__(self, transport: Transport, *, camera: Camera | None = None, **kwargs: Any) -> None:
        super().__init__(transport, **kwargs)
        live_camera = getattr(transport, "camera", None)
        self._pushed = None if live_camera is not None else (camera if isinstance(camera, PushedFrameCamera)
                                                              else PushedFrameCamera())
        self._camera: Camera = live_camera if live_camera is not None else self._pushed  # type: ignore[assignment]
        self._sensor: ArucoJawSensor | None = None
        self._calibration: JawCalibration | None = None
        self._xr: XrSample | None = None
        self._distance: float | None = None
        self._width: float | None = None
        self._last_seen: float | None = None
        self._last_event = 0.0

    @property
    def name(self) -> str:
        return "handheld gripper"

    @property
    def camera(self) -> Camera:
        """The wrist camera, to record like any camera (the live one, or the replayed frames)."""
        return self._camera

    def default_settings(self) -> DeviceSettings:
        return DeviceSettings(
            mapper=MapperSettings(translation_scale=1.0, rotation_scale=1.0, deadzone=0.0, clutch=ClutchMode.ALWAYS),
            buttons={"primary": ButtonAction.RECORD_TOGGLE, "secondary": ButtonAction.MARK_RECOVERY,
                     "menu": ButtonAction.DISCARD, "squeeze": ButtonAction.CLUTCH_TOGGLE},
            options=HandheldOptions())

    # -- calibration --------------------------------------------------------------------------------
    def measured_distance(self) -> float | None:
        """The newest marker distance in pixels (None while the markers are not seen)."""
        return self._distance

    def calibrate_jaw(self, points: Sequence[tuple[float, float]]) -> JawCalibration:
        """Fit the jaw calibration from (marker distance px, width m) points, use it and persist it."""
        calibration = JawCalibration.fit(points)
        opts: HandheldOptions = self.settings.options or HandheldOptions()
        new_opts = dataclasses.replace(opts, calibration=tuple((float(d), float(w)) for d, w in points))
        self.save_settings(self.settings.with_options(new_opts))
        self._calibration = calibration
        return calibration

    # -- parsing ----------------------------------------------------------------------------------------
    def _reset_parser(self) -> None:
        opts: HandheldOptions = self.settings.options or HandheldOptions()
        if self._sensor is None or self._sensor.ids != (opts.left_marker, opts.right_marker):
            self._sensor = ArucoJawSensor(opts.dictionary, opts.left_marker, opts.right_marker)
        self._calibration = opts.jaw_calibration()
        self._xr = None

    def _parse(self, event: RawEvent) -> DeviceSample | None:
        if self._sensor is None:
            self._reset_parser()
        assert self._sensor is not None
        self._last_event = event.time
        if event.kind == "xr":
            if not isinstance(event.data, XrSample):
                raise MalformedInput("an OpenXR event must carry an XrSample")
            self._xr = event.data
        elif event.kind == "image":
            image = np.asarray(event.data)
            if self._pushed is not None:
                self._pushed.push(image, event.time)
            distance = self._sensor.measure(image)
            if distance is not None:
                self._distance = distance
                self._last_seen = event.time
                if self._calibration is not None:
                    self._width = self._calibration.width(distance)
        else:
            raise MalformedInput(f"a handheld gripper reads OpenXR samples and images, got {event.kind!r}")
        xs = tool_centre_sample(self._xr or XrSample(pose=None), self._tcp_offset())
        sample = xr_sample_to_device_sample(event.time, xs, squeezed=xs.squeeze >= 0.5)
        analog = dict(sample.analog)
        if self._distance is not None:
            analog["jaw_px"] = self._distance
        if self._width is not None:
            analog["jaw_width"] = self._width
        return DeviceSample(time=sample.time, seq=0, pose=sample.pose, analog=analog, buttons=sample.buttons)

    def _tcp_offset(self) -> np.ndarray:
        opts: HandheldOptions = self.settings.options or HandheldOptions()
        return np.asarray(opts.tcp_offset, dtype=float)

    def _interpret(self, sample: DeviceSample) -> CommandParts:
        opts: HandheldOptions = self.settings.options or HandheldOptions()
        width = sample.analog.get("jaw_width")
        gripper = None if width is None else float(np.clip(1.0 - width / opts.max_width, 0.0, 1.0))
        return CommandParts(pose=sample.pose, gripper=gripper)

    def _notice(self) -> str:
        problem = xr_problem(self._transport)
        if problem:
            return problem
        opts: HandheldOptions = self.settings.options or HandheldOptions()
        if self._calibration is None:
            return "handheld gripper jaw is not calibrated: calibrate it at two or more known widths"
        if self._last_seen is None or self._last_event - self._last_seen > opts.occlusion_timeout:
            return "jaw markers not visible to the wrist camera: the gripper keeps its last width"
        return ""


def tool_centre_sample(xs: XrSample, offset: np.ndarray) -> XrSample:
    """The tracker's sample moved to the tool centre point: position + R(orientation) @ offset,
    orientation unchanged (a rigid offset in the tracker's frame)."""
    if xs.pose is None or not np.any(offset):
        return xs
    pose = np.array(xs.pose, dtype=float)
    pose[:3] = pose[:3] + quat_to_matrix(pose[3:]) @ offset
    return dataclasses.replace(xs, pose=pose)


def make_handheld(camera: Camera, *, hand: str = "right", tracker_role: str | None = None,
                  **kwargs: Any) -> HandheldGripperDevice:
    """A handheld gripper tracked by an OpenXR controller (``hand``) or Vive tracker (``tracker_role``)."""
    transport = HandheldTransport(OpenXRAdapter(hand, tracker_role=tracker_role), camera)
    return HandheldGripperDevice(transport, **kwargs)
