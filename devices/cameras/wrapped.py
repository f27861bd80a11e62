"""A camera seen through another one: the base for cameras that change what a device delivers.

A wrapper (a configured name and size, a tactile reference subtraction) changes the frames or the
info, never the device's life cycle or health: those pass straight to the inner camera here, so
each wrapper overrides only what it changes.
"""

from __future__ import annotations

from devices.camera import Camera, CameraInfo, CameraStatus, Frame


class WrappedCamera(Camera):
    """Passes everything to ``inner``; subclasses override the parts they change."""

    def __init__(self, inner: Camera) -> None:
        self._inner = inner

    @property
    def inner(self) -> Camera:
        return self._inner

    @property
    def info(self) -> CameraInfo:
        return self._inner.info

    def connect(self) -> None:
        self._inner.connect()

    def disconnect(self) -> None:
        self._inner.disconnect()

    @property
    def is_connected(self) -> bool:
        return self._inner.is_connected

    def status(self) -> CameraStatus:
        return self._inner.status()

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        return self._inner.read_latest(max_age_s)
