"""Tactile sensors as cameras: reference subtraction over any capture backend."""

from __future__ import annotations

import time

import numpy as np
import pytest

from devices.camera import CameraError, CameraInfo
from devices.cameras.tactile import TactileCamera, contact_image
from devices.cameras.threaded import Capture, CaptureSettings, ThreadedCamera


class GelCamera(ThreadedCamera):
    """A synthetic gel: a fixed shaded background, with a pressed disc after ``press_after`` frames."""

    def __init__(self, press_after=8, hang=False):
        super().__init__("gel-raw", CaptureSettings(32, 24, fps=200, join_timeout_s=0.2), mount="tactile")
        yy, xx = np.mgrid[0:24, 0:32]
        self.background = np.stack([80 + 2 * xx, 90 + 3 * yy, np.full_like(xx, 120)], -1).astype(np.uint8)
        self.press_after = press_after
        self.n = 0

    def _open(self):
        pass

    def _read(self):
        if self._stop.wait(0.005):
            return None
        image = self.background.copy()
        if self.n >= self.press_after:
            yy, xx = np.mgrid[0:24, 0:32]
            disc = (yy - 12) ** 2 + (xx - 16) ** 2 < 25
            image[disc] = np.clip(image[disc].astype(int) + 30, 0, 255)
        self.n += 1
        return Capture(image, sequence=self.n)

    def _close(self):
        pass

    def _native_info(self):
        return CameraInfo(name="gel-raw", width=32, height=24, serial="GS-7", model="synthetic gelsight")


def test_contact_shows_against_the_reference_and_rest_is_grey():
    tactile = TactileCamera(GelCamera(press_after=10), name="gel", reference_frames=3)
    tactile.connect()
    try:
        ref = tactile.reference
        deadline = time.monotonic() + 2
        frame = tactile.read_latest()
        while frame.index < 12 and time.monotonic() < deadline:
            time.sleep(0.01)
            frame = tactile.read_latest()
        again = tactile.read_latest()
        info = tactile.info
    finally:
        tactile.disconnect()
    assert ref.shape == (24, 32, 3) and ref.dtype == np.uint8
    img = frame.image
    assert img.shape == (24, 32, 3) and img.dtype == np.uint8
    assert abs(int(img[0, 0, 0]) - 128) <= 1  # untouched gel: mid-grey
    assert img[12, 16, 0] == pytest.approx(128 + 2 * 30, abs=2)  # pressed: brighter by gain x change
    assert again is frame or again.index > frame.index  # cached per frame, not recomputed per read
    assert info.mount == "tactile" and info.name == "gel" and info.serial == "GS-7"
    assert info.extra["tactile"] == {"reference_subtracted": True, "gain": 2.0}


def test_without_subtraction_the_raw_image_passes_through():
    inner = GelCamera()
    tactile = TactileCamera(inner, subtract_reference=False)
    tactile.connect()
    try:
        deadline = time.monotonic() + 2
        while tactile.read_latest() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        frame = tactile.read_latest()
    finally:
        tactile.disconnect()
    assert np.array_equal(frame.image, inner.background) and tactile.reference is None


def test_contact_image_keeps_the_sign_and_clips():
    ref = np.full((1, 3, 3), 100, np.float32)
    img = np.array([[[100] * 3, [110] * 3, [0] * 3]], np.uint8)
    out = contact_image(img, ref, gain=2.0)
    assert out[0, :, 0].tolist() == [128, 148, 0]


def test_reference_checks():
    tactile = TactileCamera(GelCamera())
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        tactile.set_reference(np.zeros((24, 32), np.uint8))
    with pytest.raises(ValueError, match="camera delivers 32x24"):
        tactile.set_reference(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="gain"):
        TactileCamera(GelCamera(), gain=0)


def test_no_frames_for_the_reference_is_a_clear_error():
    class Silent(GelCamera):
        def _read(self):
            self._stop.wait(0.01)
            return None

    tactile = TactileCamera(Silent(), reference_timeout_s=0.2)
    with pytest.raises(CameraError, match="no-contact reference"):
        tactile.connect()
    assert not tactile.is_connected
