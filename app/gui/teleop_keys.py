"""Keyboard teleoperation: held keys → a Cartesian velocity for the station's keyboard agent.

Installed as an application event filter by the main window; it acts only while a panel that
wants teleop keys is shown and no text field has the focus, so typing an operator name never
moves the robot.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit

from app.gui.station_worker import KeyboardTeleop

# Key → (axis, sign) of the Cartesian velocity command. Axes: 0 x, 1 y, 2 z, 3 yaw. The scene camera
# looks along −x, so "forward on screen" (W / Up) is −x and "right on screen" (D / Right) is +y.
KEY_AXES = {
    Qt.Key.Key_W: (0, -1), Qt.Key.Key_S: (0, +1), Qt.Key.Key_A: (1, -1), Qt.Key.Key_D: (1, +1),
    Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, +1), Qt.Key.Key_Left: (1, -1), Qt.Key.Key_Right: (1, +1),
    Qt.Key.Key_R: (2, +1), Qt.Key.Key_F: (2, -1), Qt.Key.Key_Q: (3, +1), Qt.Key.Key_E: (3, -1),
}
SPEED = np.array([0.15, 0.15, 0.12, 1.2])
GRIPPER_KEY = Qt.Key.Key_Space
HELP = "W A S D / arrows move · R F up/down · Q E turn · Space gripper"

_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox, QComboBox)


class TeleopKeys(QObject):
    def __init__(self, teleop: KeyboardTeleop, active: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.teleop = teleop
        self._active = active
        self._held: set[int] = set()

    def velocity(self) -> np.ndarray:
        v = np.zeros(4)
        for key in self._held:
            axis, sign = KEY_AXES[key]
            v[axis] += sign
        return np.clip(v, -1, 1) * SPEED

    def release_all(self) -> None:
        self._held.clear()
        self.teleop.set_velocity(np.zeros(4))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        et = event.type()
        if et == QEvent.Type.ApplicationDeactivate:
            self.release_all()  # a key released in another window must not leave the robot moving
            return False
        if et not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        key = event.key()
        if key not in KEY_AXES and key != GRIPPER_KEY:
            return False
        if not self._active() or isinstance(QApplication.focusWidget(), _TEXT_INPUTS):
            if et == QEvent.Type.KeyRelease and key in self._held:  # never leave a key stuck
                self._held.discard(key)
                self.teleop.set_velocity(self.velocity())
            return False
        if event.isAutoRepeat():
            return True
        if et == QEvent.Type.KeyPress:
            if key == GRIPPER_KEY:
                self.teleop.set_gripper(0.0 if self.teleop.gripper > 0.5 else 1.0)
            else:
                self._held.add(key)
                self.teleop.set_velocity(self.velocity())
        elif key in self._held:
            self._held.discard(key)
            self.teleop.set_velocity(self.velocity())
        return True
