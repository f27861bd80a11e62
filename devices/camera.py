"""The camera protocol: every image stream (scene, wrist, tactile) looks the same to the recorder.

A camera captures in the background into a newest-frame slot; callers take snapshots with
``read_latest``. Capture times are on the caller-supplied clock so the recorder can measure how
stale each frame is at the tick that stores it.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field

import numpy as np

from devices.connection import Connectable


class CameraError(RuntimeError):
    """A camera could not be opened or stopped delivering frames."""


@dataclass(frozen=True)
class CameraInfo:
    """What an episode stores about a camera: enough to check two datasets were seen alike."""

    name: str
    width: int
    height: int
    mount: str = "scene"  # "scene", "wrist" or "tactile"
    serial: str = ""
    fx: float = float("nan")
    fy: float = float("nan")
    cx: float = float("nan")
    cy: float = float("nan")
    model: str = ""
    extra: dict = field(default_factory=dict)

    def intrinsics_matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    timestamp: float  # capture time in seconds on the recorder's clock
    index: int = 0  # frame counter since the camera started, to count drops
    depth: np.ndarray | None = None  # (H, W) float32 metres aligned to ``image``, for depth cameras


# What a camera is doing, as the recorder and `demostation cameras` show it.
# "connected": the device opened, no frame yet; "stalled": no frame for a few frame periods;
# "error": the last device call failed (the camera keeps trying to reopen); "ended": a file ran out.
CAMERA_STATES = ("disconnected", "connecting", "connected", "streaming", "stalled", "error", "ended")


@dataclass(frozen=True)
class CameraStatus:
    """A snapshot of a camera's health: never blocks, so a view can poll it at any rate.

    ``frames_dropped`` counts frames the device produced that never reached the newest-frame slot
    (gaps in the device's frame counter or timestamps), not frames the caller chose not to read.
    """

    state: str  # one of CAMERA_STATES
    last_error: str = ""
    fps: float = 0.0  # measured over the last couple of seconds
    frames_captured: int = 0
    frames_dropped: int = 0
    last_frame_age_s: float | None = None  # clock() - capture time of the newest frame

    def line(self) -> str:
        """One line for a terminal or a status bar."""
        text = f"{self.state}, {self.fps:.1f} fps, {self.frames_captured} frames, {self.frames_dropped} dropped"
        if self.last_frame_age_s is not None:
            text += f", newest {self.last_frame_age_s * 1000:.0f} ms old"
        if self.last_error:
            text += f"; last error: {self.last_error}"
        return text


class Camera(Connectable):
    @property
    @abstractmethod
    def info(self) -> CameraInfo:
        ...

    @abstractmethod
    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        """Newest frame, or None when there is none (yet) or it is older than ``max_age_s``."""

    def status(self) -> CameraStatus:
        """Health snapshot. Cameras that measure more (threaded ones) override this."""
        return CameraStatus(state="streaming" if self.is_connected else "disconnected")
