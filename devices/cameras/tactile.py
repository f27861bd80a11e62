"""Camera-based tactile sensors (GelSight, DIGIT and the like) as ordinary cameras.

Such a sensor *is* a camera looking at a gel from behind; contact shows as small shading changes
on a large, static image of the gel. `TactileCamera` wraps any `Camera` (a UVC device, a video
file, a RealSense) and can subtract a reference (no-contact) frame so the contact stands out:

    out = clip(128 + gain * (frame - reference), 0, 255)    per channel, uint8 RGB

Grey (128) means "as at rest", brighter or darker means the gel moved there; the sign is kept
because the direction of the shading change encodes the surface normal. Without a reference the
raw image passes through. The result is still an (H, W, 3) uint8 RGB frame, so the recorder and
the policy's shared image encoder treat it like any other camera (mount "tactile").

The difference is computed once per new frame (cached by frame index), at read time: a few
hundred microseconds at tactile image sizes, and never a wait on the device.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np

from devices.camera import Camera, CameraError, CameraInfo, Frame
from devices.cameras.wrapped import WrappedCamera


class TactileCamera(WrappedCamera):
    """A tactile sensor seen through ``inner`` (any camera), optionally reference-subtracted."""

    def __init__(self, inner: Camera, *, name: str | None = None, subtract_reference: bool = True,
                 gain: float = 2.0, reference_frames: int = 5, reference_timeout_s: float = 2.0) -> None:
        if not gain > 0:
            raise ValueError(f"tactile gain must be positive, got {gain}")
        if reference_frames < 1:
            raise ValueError(f"reference_frames must be at least 1, got {reference_frames}")
        super().__init__(inner)
        self._name = name or inner.info.name
        self._subtract = subtract_reference
        self._gain = float(gain)
        self._reference_frames = reference_frames
        self._reference_timeout_s = reference_timeout_s
        self._reference: np.ndarray | None = None  # float32 HxWx3
        self._lock = threading.Lock()
        self._cache: tuple[int, float, Frame] | None = None

    @property
    def info(self) -> CameraInfo:
        info = self._inner.info
        extra = dict(info.extra)
        extra["tactile"] = {"reference_subtracted": self._subtract, "gain": self._gain}
        return replace(info, name=self._name, mount="tactile", extra=extra)

    def connect(self) -> None:
        """Connect the inner camera and, if subtracting, take the reference from the first frames.

        The gel must not be touched while connecting; `capture_reference` retakes it at any time.
        """
        self._inner.connect()
        if self._subtract and self._reference is None:
            try:
                self.capture_reference()
            except CameraError:
                self._inner.disconnect()
                raise

    @property
    def reference(self) -> np.ndarray | None:
        """The no-contact reference image (uint8 RGB), or None before one is taken."""
        with self._lock:
            ref = self._reference
        return None if ref is None else np.clip(ref.round(), 0, 255).astype(np.uint8)

    def set_reference(self, image: np.ndarray) -> None:
        """Use ``image`` (uint8 RGB at the output size) as the no-contact reference."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"reference must be an HxWx3 uint8 image, got {image.dtype} {image.shape}")
        info = self._inner.info
        if image.shape[:2] != (info.height, info.width):
            raise ValueError(f"reference is {image.shape[1]}x{image.shape[0]}, the camera delivers "
                             f"{info.width}x{info.height}")
        with self._lock:
            self._reference = image.astype(np.float32)
            self._cache = None

    def capture_reference(self) -> np.ndarray:
        """Average the next ``reference_frames`` distinct frames (averaging removes sensor noise)."""
        frames: list[np.ndarray] = []
        seen: set[int] = set()
        deadline = time.monotonic() + self._reference_timeout_s
        while len(frames) < self._reference_frames and time.monotonic() < deadline:
            frame = self._inner.read_latest()
            if frame is not None and frame.index not in seen:
                seen.add(frame.index)
                frames.append(frame.image.astype(np.float32))
            else:
                time.sleep(0.005)
        if not frames:
            raise CameraError(f"tactile camera {self._name!r}: no frame within {self._reference_timeout_s:g} s "
                              "to take the no-contact reference from")
        reference = np.mean(frames, axis=0)
        with self._lock:
            self._reference = reference
            self._cache = None
        return self.reference

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        frame = self._inner.read_latest(max_age_s)
        if frame is None or not self._subtract:
            return frame
        with self._lock:
            reference, cache = self._reference, self._cache
        if reference is None:
            return frame  # no reference yet: the raw view is still a valid image
        if cache is not None and cache[0] == frame.index and cache[1] == frame.timestamp:
            return cache[2]
        if reference.shape != frame.image.shape:
            return frame  # cannot happen through set_reference's check; never fail a recorder tick over it
        contact = contact_image(frame.image, reference, self._gain)
        out = replace(frame, image=contact)
        with self._lock:
            self._cache = (frame.index, frame.timestamp, out)
        return out


def contact_image(image: np.ndarray, reference: np.ndarray, gain: float) -> np.ndarray:
    """128 + gain × (image − reference), clipped to uint8: grey where the gel is as at rest."""
    diff = image.astype(np.float32) - reference
    return np.clip(128.0 + gain * diff, 0, 255).astype(np.uint8)
