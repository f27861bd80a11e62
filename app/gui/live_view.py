"""The station's cameras side by side, fed by the station worker's ``frames`` signal.

Several panels (Station, Record, Run) each show one; a hidden one skips the image conversion, so
three live views cost no more than one.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from app.gui.image_view import ImageView
from app.gui.station_worker import StationWorker

CAMERA_TITLES = {"scene": "scene camera", "wrist": "wrist camera"}


class LiveView(QWidget):
    def __init__(self, worker: StationWorker, parent: QWidget | None = None, min_size: int = 200,
                 orientation: Qt.Orientation = Qt.Orientation.Horizontal) -> None:
        super().__init__(parent)
        self.worker = worker
        self.views: dict[str, ImageView] = {}
        self.splitter = QSplitter(orientation, self)
        self.splitter.setChildrenCollapsible(False)
        for name in worker.camera_names:
            view = ImageView(CAMERA_TITLES.get(name, f"{name} camera"), min_size=min_size)
            self.views[name] = view
            self.splitter.addWidget(view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._arrivals: dict[str, list[float]] = {n: [] for n in self.views}
        self.latest: dict[str, np.ndarray] = {}
        self._demanding = False
        worker.frames.connect(self._on_frames)

    def _on_frames(self, frames: dict) -> None:
        now = time.monotonic()
        for name, image in frames.items():
            arrivals = self._arrivals.setdefault(name, [])
            arrivals.append(now)
            if len(arrivals) > 40:
                del arrivals[:-40]
            self.latest[name] = image
            if name in self.views and self.isVisible():
                self.views[name].set_image(image)

    def fps(self, name: str) -> float:
        """Frames per second arriving for one camera over the last couple of seconds."""
        a = [t for t in self._arrivals.get(name, []) if time.monotonic() - t < 2.0]
        if len(a) < 2 or a[-1] <= a[0]:
            return 0.0
        return (len(a) - 1) / (a[-1] - a[0])

    def showEvent(self, e) -> None:  # noqa: N802 - paint the newest frame at once when shown
        if not self._demanding:
            self._demanding = True
            self.worker.view_demand += 1
        for name, image in self.latest.items():
            if name in self.views:
                self.views[name].set_image(image)
        super().showEvent(e)

    def hideEvent(self, e) -> None:  # noqa: N802 - a hidden view costs the station nothing
        if self._demanding:
            self._demanding = False
            self.worker.view_demand -= 1
        super().hideEvent(e)

    def show_external(self, name: str, image: np.ndarray) -> None:
        """A frame of one of the lab's own cameras: shown beside the station's, added on first sight."""
        view = self.views.get(name)
        if view is None:
            view = ImageView(f"{name} camera", min_size=160)
            self.views[name] = view
            self.splitter.addWidget(view)
        if self.isVisible():
            view.set_image(image)

    def drop_external(self, keep: set[str]) -> None:
        for name in [n for n in self.views if n not in self.worker.camera_names and n not in keep]:
            view = self.views.pop(name)
            view.setParent(None)
            view.deleteLater()

    def set_badge(self, text: str, colour=None) -> None:
        for v in self.views.values():
            v.set_badge(text, colour)
