"""The embedded station's cameras (`SimCamera`) under the same configuration and registry.

A station camera renders the simulated scene when it is read, with the simulation's time as its
capture time: in simulation there is no device to wait for and no staleness, and rendering at the
tick is exactly what makes headless recording reproducible. This adapter gives it a configured
name, mount and output size (same centre-crop-then-resize as every other camera) so a camera
config can mix station and real cameras and `check_compatible` compares them alike.
"""

from __future__ import annotations

import math
from dataclasses import replace

from devices.camera import Camera, CameraInfo, Frame
from devices.cameras.imaging import fit_image, fit_intrinsics
from devices.cameras.wrapped import WrappedCamera


class StationCamera(WrappedCamera):
    """Wraps a station camera (or any render-on-read camera) with a configured name, mount and size."""

    def __init__(self, inner: Camera, *, name: str | None = None, mount: str | None = None,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(inner)
        self._name = name
        self._mount = mount
        self._size = size  # (width, height)

    @property
    def info(self) -> CameraInfo:
        info = self._inner.info
        w, h = self._size or (info.width, info.height)
        fx, fy, cx, cy = info.fx, info.fy, info.cx, info.cy
        if (w, h) != (info.width, info.height) and not math.isnan(fx):
            fx, fy, cx, cy = fit_intrinsics(fx, fy, cx, cy, info.width, info.height, w, h)
        return replace(info, name=self._name or info.name, mount=self._mount or info.mount, width=w, height=h,
                       fx=fx, fy=fy, cx=cx, cy=cy)

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        frame = self._inner.read_latest(max_age_s)
        if frame is None or self._size is None:
            return frame
        return replace(frame, image=fit_image(frame.image, *self._size))
