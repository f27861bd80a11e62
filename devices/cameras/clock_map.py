"""Mapping a device's own frame timestamps onto the recorder's clock.

A device stamps each frame when its sensor exposed it (RealSense hardware clock, the V4L2 buffer
time, a video file's presentation time); the host only sees the frame later, after transfer and
decoding, with a delay that jitters by milliseconds. The device stamps are the better record of
*when* a frame was taken, but they count on another clock. We keep the device's spacing between
frames and choose the offset to the host clock as the smallest (arrival − device time) seen over a
sliding window: the frame that arrived fastest defines the offset, so no frame ever appears to be
captured after it arrived, and jitter in delivery never leaks into the capture times. The window
lets the offset follow slow drift between the two crystals (tens of ppm). The estimate only improves: the first frames after opening
may carry a few milliseconds of extra delay until a fast-arriving frame has been seen.
"""

from __future__ import annotations

from collections import deque


class ClockMapper:
    """Device seconds → host-clock seconds, by a windowed minimum of (arrival − device) offsets."""

    def __init__(self, window_s: float = 10.0) -> None:
        if not window_s > 0:
            raise ValueError(f"clock-mapping window must be positive, got {window_s}")
        self.window_s = float(window_s)
        # (arrival, offset) pairs with increasing offsets: the front is the window's minimum.
        self._mins: deque[tuple[float, float]] = deque()
        self._last_device: float | None = None

    def reset(self) -> None:
        """Forget the offset (the device restarted, a file looped, a camera reconnected)."""
        self._mins.clear()
        self._last_device = None

    def map(self, device_s: float, arrival_s: float) -> float:
        """Capture time on the host clock for a frame stamped ``device_s`` that arrived at ``arrival_s``."""
        if self._last_device is not None and device_s < self._last_device:
            self.reset()  # the device clock jumped back: an old offset would be meaningless
        self._last_device = device_s
        offset = arrival_s - device_s
        while self._mins and self._mins[-1][1] >= offset:
            self._mins.pop()
        self._mins.append((arrival_s, offset))
        while self._mins[0][0] < arrival_s - self.window_s:
            self._mins.popleft()
        return device_s + self._mins[0][1]

    @property
    def offset(self) -> float | None:
        """Current host − device offset in seconds, or None before the first frame."""
        return self._mins[0][1] if self._mins else None
