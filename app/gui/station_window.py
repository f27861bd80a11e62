"""The station window: live cameras and keyboard teleoperation of the embedded station."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from app.gui.image_view import ImageView
from app.gui.station_worker import StationWorker

# Key → (axis, sign) of the Cartesian velocity command. Axes: 0 x, 1 y, 2 z, 3 yaw.
KEY_AXES = {
    Qt.Key.Key_W: (0, -1), Qt.Key.Key_S: (0, +1), Qt.Key.Key_A: (1, -1), Qt.Key.Key_D: (1, +1),
    Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, +1), Qt.Key.Key_Left: (1, -1), Qt.Key.Key_Right: (1, +1),
    Qt.Key.Key_R: (2, +1), Qt.Key.Key_F: (2, -1), Qt.Key.Key_Q: (3, +1), Qt.Key.Key_E: (3, -1),
}
SPEED = np.array([0.15, 0.15, 0.12, 1.2])
HELP = "W/S/A/D or arrows: move · R/F: up/down · Q/E: turn · Space: gripper · Backspace: reset"


class StationWindow(QMainWindow):
    def __init__(self, task: str = "pick_place", worker: StationWorker | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"Demo Station — {task}")
        self.worker = worker or StationWorker(task)
        self._held: set[int] = set()
        self._gripper_closed = False
        self.views = {name: ImageView(title) for name, title in (("scene", "scene camera"), ("wrist", "wrist camera"))}
        central = QWidget()
        layout = QVBoxLayout(central)
        row = QHBoxLayout()
        for v in self.views.values():
            row.addWidget(v)
        layout.addLayout(row, 1)
        self.help_label = QLabel(HELP)
        self.help_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.help_label)
        self.setCentralWidget(central)
        self.resize(980, 560)
        self.statusBar().showMessage("starting the station…")
        self.worker.frames.connect(self._on_frames)
        self.worker.status.connect(self._on_status)
        self.worker.failed.connect(lambda msg: self.statusBar().showMessage(msg))
        self.worker.start()

    def _on_frames(self, frames: dict) -> None:
        for name, image in frames.items():
            if name in self.views:
                self.views[name].set_image(image)

    def _on_status(self, s: dict) -> None:
        x, y, z = s["pose"][:3]
        state = "SUCCESS" if s["success"] else f"score {s['score']:.2f}"
        self.statusBar().showMessage(
            f"t {s['time']:5.1f} s · hand ({x:+.3f}, {y:+.3f}, {z:+.3f}) m · gripper {s['gripper']:.2f} · {state}")

    def _velocity(self) -> np.ndarray:
        v = np.zeros(4)
        for key in self._held:
            axis, sign = KEY_AXES[key]
            v[axis] += sign
        return np.clip(v, -1, 1) * SPEED

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802
        if e.isAutoRepeat():
            return
        if e.key() in KEY_AXES:
            self._held.add(e.key())
            self.worker.set_velocity(self._velocity())
        elif e.key() == Qt.Key.Key_Space:
            self._gripper_closed = not self._gripper_closed
            self.worker.set_gripper(1.0 if self._gripper_closed else 0.0)
        elif e.key() == Qt.Key.Key_Backspace:
            self.worker.request_reset()
        else:
            super().keyPressEvent(e)

    def keyReleaseEvent(self, e: QKeyEvent) -> None:  # noqa: N802
        if e.isAutoRepeat():
            return
        if e.key() in self._held:
            self._held.discard(e.key())
            self.worker.set_velocity(self._velocity())

    def closeEvent(self, e) -> None:  # noqa: N802
        self.worker.stop()
        super().closeEvent(e)
