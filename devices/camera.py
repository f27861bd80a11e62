"""The camera protocol: every image stream (scene, wrist, tactile) looks the same to the recorder.

A camera captures in the background into a newest-frame slot; callers take snapshots with
``read_latest``. Capture times are on the caller-supplied clock so the recorder can measure how
stale each frame is at the tick that stores it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np


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


class Camera(ABC):
    @property
    @abstractmethod
    def info(self) -> CameraInfo:
        ...

    @abstractmethod
    def connect(self) -> None:
        ...

    @abstractmethod
    def disconnect(self) -> None:
        ...

    @property
    @abstractmethod
    def is_connected(self) -> bool:
        ...

    @abstractmethod
    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        """Newest frame, or None when there is none (yet) or it is older than ``max_age_s``."""

    def __enter__(self) -> "Camera":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()
