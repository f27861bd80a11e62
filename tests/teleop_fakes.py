"""Stand-ins at the outermost edge of the teleop devices, and nothing more inward.

``FakeHidApi`` plays the ``hid`` module (its ``device()`` handle serves byte reports and can be
unplugged), ``ScriptedXr`` plays the OpenXR adapter (serves recorded pose samples), ``FakeHaptic``
plays a haptic SDK; the wrist camera is the product's own ``PushedFrameCamera``. Everything above
them is the product's code.
"""

from __future__ import annotations

import queue
import threading
import time

import cv2
import numpy as np

from devices.teleop.errors import DeviceLost, DeviceUnavailable
from devices.teleop.frames import OPERATOR_FROM_Y_UP
from devices.teleop.haptic import HapticBackend, HapticInfo, HapticState
from devices.teleop.openxr_adapter import XrSample


class FakeHidHandle:
    def __init__(self, api: "FakeHidApi") -> None:
        self.api = api
        self.reports: queue.Queue[bytes] = queue.Queue()
        self.closed = False
        self.path = None

    def open_path(self, path: bytes) -> None:
        if not self.api.plugged or self.api.refuse_open:
            raise OSError("open failed")
        self.path = path
        self.api.current = self

    def read(self, max_length: int, timeout_ms: int = 0) -> list[int]:
        if not self.api.plugged:
            raise OSError("read error")
        try:
            data = self.reports.get(timeout=timeout_ms / 1000.0)
        except queue.Empty:
            return []
        if not self.api.plugged:
            raise OSError("read error")
        return list(data[:max_length])

    def close(self) -> None:
        self.closed = True


class FakeHidApi:
    """The ``hidraw`` module's surface the SpaceMouse code uses: ``enumerate`` and ``device`` (and its
    module name, which says which hidapi backend it is; set ``__name__ = "hid"`` to play libusb)."""

    __name__ = "hidraw"

    def __init__(self, vendor_id: int = 0x256F, product_id: int = 0xC635, extra: list[dict] | None = None) -> None:
        self.entries = [{"vendor_id": vendor_id, "product_id": product_id, "path": b"/dev/hidraw7",
                         "serial_number": "SN1", "usage_page": 1, "usage": 8, "product_string": "SpaceMouse"}]
        self.entries += extra or []
        self.plugged = True
        self.refuse_open = False
        self.current: FakeHidHandle | None = None
        self.opened = threading.Event()

    def enumerate(self, vendor_id: int = 0, product_id: int = 0) -> list[dict]:
        return [dict(e) for e in self.entries] if self.plugged else []

    def device(self) -> FakeHidHandle:
        return FakeHidHandle(self)

    def feed(self, *reports: bytes) -> None:
        assert self.current is not None, "no handle open"
        for r in reports:
            self.current.reports.put(bytes(r))

    def unplug(self) -> None:
        self.plugged = False

    def plug_in(self) -> None:
        self.plugged = True


class ScriptedXr:
    """An OpenXR adapter stand-in serving a list of samples (then repeating the last one)."""

    def __init__(self, samples: list[XrSample], hand: str = "right", tracker_role: str | None = None) -> None:
        self.samples = list(samples)
        self.hand = hand
        self.tracker_role = tracker_role
        self.index = 0
        self.opened = 0
        self.lost = False
        self.available = True

    def open(self) -> None:
        if not self.available:
            raise DeviceUnavailable("no OpenXR runtime found: install Monado or SteamVR and set XR_RUNTIME_JSON")
        self.opened += 1

    def close(self) -> None:
        pass

    def poll(self) -> XrSample | None:
        if self.lost:
            raise DeviceLost("OpenXR runtime lost the session (SessionLostError)")
        if not self.samples:
            return None
        s = self.samples[min(self.index, len(self.samples) - 1)]
        self.index += 1
        return s

    @property
    def done(self) -> bool:
        return self.index >= len(self.samples)


def xr_pose(operator_xyz, yaw_about_up: float = 0.0) -> np.ndarray:
    """A pose in OpenXR's y-up frame for an operator-frame position and a turn about up."""
    p = OPERATOR_FROM_Y_UP.T @ np.asarray(operator_xyz, dtype=float)
    half = yaw_about_up / 2
    return np.array([p[0], p[1], p[2], np.cos(half), 0.0, np.sin(half), 0.0])  # about OpenXR +y (up)


class FakeHaptic(HapticBackend):
    """A haptic SDK stand-in: the stylus follows a scripted path; every force it is sent is kept."""

    name = "openhaptics"
    operator_from_native = OPERATOR_FROM_Y_UP

    def __init__(self, max_force: float = 0.9, path=None, buttons=None) -> None:
        self.max_force = max_force
        self.path = path or (lambda t: np.zeros(3))
        self.buttons = buttons or (lambda t: 0)
        self.forces: list[np.ndarray] = []
        self.times: list[float] = []
        self.fail = False
        self.closed = 0
        self.zeroed = 0  # zero_force calls (from the watchdog)
        self.stall = None  # a threading.Event: exchange blocks on it (a stalled servo loop) while set
        self._t0 = None

    def open(self) -> HapticInfo:
        self._t0 = time.monotonic()
        return HapticInfo(model="Touch (fake)", max_force=self.max_force, output_dof=3)

    def exchange(self, force: np.ndarray, torque: np.ndarray) -> HapticState:
        if self.stall is not None:
            self.stall.wait(5.0)
            self.stall = None
        if self.fail:
            raise DeviceLost("OpenHaptics lost the device: communication error")
        t = time.monotonic() - self._t0
        self.forces.append(np.array(force, dtype=float))
        self.times.append(t)
        m = np.eye(4)
        m[:3, 3] = self.path(t)
        return HapticState(matrix=m, buttons=int(self.buttons(t)))

    def close(self) -> None:
        self.closed += 1

    def zero_force(self) -> None:
        self.zeroed += 1


def marker_image(distance_px: float, size: int = 320, marker_px: int = 36, ids=(0, 1), warp: float = 0.0,
                 noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """An RGB wrist image with two ArUco markers whose centres are ``distance_px`` apart horizontally
    (before an optional perspective warp), on a light grey background with optional pixel noise."""
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    img = np.full((size, size), 200, dtype=np.uint8)
    cy, cx = size // 2 + 30, size / 2
    for mid, x in zip(ids, (cx - distance_px / 2, cx + distance_px / 2), strict=True):
        m = cv2.aruco.generateImageMarker(dictionary, mid, marker_px)
        m = cv2.copyMakeBorder(m, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=255)
        h = m.shape[0]
        x0, y0 = int(round(x - h / 2)), int(round(cy - h / 2))
        img[y0:y0 + h, x0:x0 + h] = m
    if warp:
        src = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
        d = warp * size
        dst = np.float32([[d, 0], [size - d, d / 2], [size, size], [0, size - d / 2]])
        img = cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), (size, size), borderValue=200)
    if noise:
        rng = np.random.default_rng(seed)
        img = np.clip(img.astype(float) + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    return np.stack([img] * 3, axis=-1)


def wait_until(predicate, timeout: float = 3.0, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
