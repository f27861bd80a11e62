"""Stream synchronisation: for each tick, the newest frame of every camera captured at or before it.

Cameras run at their own rates and deliver into a newest-frame slot (`Camera.read_latest`). The
recorder polls every camera each tick and keeps a short history, so when a camera's newest frame
turns out to be captured *after* the tick (its clock ran ahead, or the frame arrived while the tick
was being sampled) the tick still gets the newest frame from before it, and the frame's capture
time is stored with it so staleness (tick time − capture time) is measurable per sample.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Mapping

from devices.camera import Camera, CameraError, Frame


class CameraSync:
    def __init__(self, cameras: Mapping[str, Camera], history: int = 8) -> None:
        self.cameras = dict(cameras)
        self._history: dict[str, deque[Frame]] = {n: deque(maxlen=history) for n in self.cameras}

    @property
    def names(self) -> list[str]:
        return list(self.cameras)

    def clear(self) -> None:
        """Forget all frames (a new episode; a simulated clock may have been reset)."""
        for hist in self._history.values():
            hist.clear()

    def poll(self) -> None:
        """Take each camera's newest frame into the history (once per distinct frame)."""
        for name, cam in self.cameras.items():
            frame = cam.read_latest()
            if frame is None:
                continue
            hist = self._history[name]
            if hist and _same_frame(hist[-1], frame):
                continue
            if hist and frame.timestamp < hist[-1].timestamp:
                continue  # a camera's clock never runs backwards; ignore a stale re-delivery
            hist.append(frame)

    def frame_at(self, name: str, t: float) -> Frame | None:
        """The newest frame of camera ``name`` captured at or before ``t`` (None if there is none)."""
        for frame in reversed(self._history[name]):
            if frame.timestamp <= t:
                return frame
        return None

    def frames_at(self, t: float) -> dict[str, Frame | None]:
        return {name: self.frame_at(name, t) for name in self.cameras}

    def wait_for_frames(self, now: Callable[[], float], sleep: Callable[[float], None], timeout_s: float) -> None:
        """Poll until every camera has delivered a frame; CameraError naming the silent ones."""
        deadline = now() + timeout_s
        while True:
            self.poll()
            silent = [n for n, h in self._history.items() if not h]
            if not silent:
                return
            if now() >= deadline:
                raise CameraError(f"no frame from camera {', '.join(silent)} within {timeout_s:g} s: "
                                  "check it is connected and streaming")
            sleep(0.005)


def _same_frame(a: Frame, b: Frame) -> bool:
    return a.timestamp == b.timestamp and a.index == b.index
