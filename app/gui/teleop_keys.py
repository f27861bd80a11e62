"""Keyboard teleoperation: Qt key events → the station's keyboard device (devices.teleop.keyboard).

Installed as an application event filter by the main window. It acts only while a panel that
wants teleop keys is shown and no text field has the focus, so typing an operator name never moves
the robot. Only motion keys, the gripper (space) and mark-recovery (M) go to the device; Enter,
Escape and Backspace stay window shortcuts (the Record panel's), so one key press is one command.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit

from devices.teleop.keyboard import DEFAULT_AXIS_KEYS, KeyboardDevice

DEVICE_BUTTON_KEYS = {Qt.Key.Key_Space: "space", Qt.Key.Key_M: "m"}
HELP = "W S away/towards · A D left/right · R F up/down · U O turn · I K J L tilt · Space gripper · M mark recovery"

_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox, QComboBox)


def key_name(key: int) -> str | None:
    """The device's name for a Qt key, or None when the keyboard device does not use it."""
    if key in DEVICE_BUTTON_KEYS:
        return DEVICE_BUTTON_KEYS[key]
    if Qt.Key.Key_A <= key <= Qt.Key.Key_Z:
        name = chr(int(key)).lower()
        return name if name in DEFAULT_AXIS_KEYS else None
    return None


class TeleopKeys(QObject):
    def __init__(self, keyboard: KeyboardDevice, active: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.keyboard = keyboard
        self._active = active
        self._held: set[str] = set()

    def release_all(self) -> None:
        for name in list(self._held):
            self.keyboard.key_up(name)
        self._held.clear()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        et = event.type()
        if et == QEvent.Type.ApplicationDeactivate:
            self.release_all()  # a key released in another window must not leave the robot moving
            return False
        if et not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        name = key_name(event.key())
        if name is None:
            return False
        if not self._active() or isinstance(QApplication.focusWidget(), _TEXT_INPUTS):
            if et == QEvent.Type.KeyRelease and name in self._held:  # never leave a key stuck
                self._held.discard(name)
                self.keyboard.key_up(name)
            return False
        if event.isAutoRepeat():
            return True
        if et == QEvent.Type.KeyPress:
            self._held.add(name)
            self.keyboard.key_down(name)
        elif name in self._held:
            self._held.discard(name)
            self.keyboard.key_up(name)
        return True
