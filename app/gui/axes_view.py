"""The axes view: a connected device's live motion as arrows, in the operator's frame and the robot's,
with a flip switch per axis — so a wrong sign shows in the first second, before anything is recorded.

A thin view: ``devices.teleop.axes.AxisMonitor`` computes the motion (the mapper's own clip, flips
and ``axis_map``), ``set_axis_flip`` saves a flip in the device settings; this widget only polls the
device's command without consuming its button presses, and paints.
"""

from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from app.gui import theme
from devices.teleop.axes import AxisMonitor, AxisMotion, set_axis_flip
from devices.teleop.device import TeleopDevice
from devices.teleop.settings import AXIS_NAMES, MapperSettings

# Each pane: which vector component is drawn to the screen's right and up (top-down view).
_OPERATOR_AXES = ((0, "right"), (1, "away"))  # screen right = operator x, screen up = operator y
_ROBOT_AXES = ((1, "-y"), (0, "+x"))  # a top-down view of the base: x up the screen, y to the left


class _Pane(QWidget):
    """One frame: the horizontal translation as an arrow, z as a bar, the turn about z as an arc."""

    def __init__(self, title: str, axes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.axes = axes
        self.vector = [0.0] * 6
        self.setMinimumSize(QSize(120, 120))

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = self.width(), self.height()
        r = min(w - 24, h - 20) / 2 - 4
        c = QPointF(r + 6, h / 2 + 8)
        p.setPen(QPen(theme.GRID, 1))
        p.drawEllipse(c, r, r)
        p.drawLine(QPointF(c.x() - r, c.y()), QPointF(c.x() + r, c.y()))
        p.drawLine(QPointF(c.x(), c.y() - r), QPointF(c.x(), c.y() + r))
        p.setPen(theme.DIM)
        p.drawText(QRectF(0, 0, w, 16), Qt.AlignmentFlag.AlignLeft, self.title)
        (ix, right_name), (iy, up_name) = self.axes
        sx = -1.0 if right_name.startswith("-") else 1.0  # a pane whose right is a negative axis
        p.drawText(QPointF(c.x() + r - 28, c.y() - 4), right_name)
        p.drawText(QPointF(c.x() + 4, c.y() - r + 12), up_name)
        dx, dy = sx * self.vector[ix], self.vector[iy]
        tip = QPointF(c.x() + dx * r, c.y() - dy * r)
        if math.hypot(dx, dy) > 0.02:
            p.setPen(QPen(theme.ACCENT, 3))
            p.drawLine(c, tip)
            ang = math.atan2(-(tip.y() - c.y()), tip.x() - c.x())
            for side in (-1, 1):
                a = ang + math.pi + side * 0.45
                p.drawLine(tip, QPointF(tip.x() + 9 * math.cos(a), tip.y() - 9 * math.sin(a)))
        rz = max(-1.0, min(1.0, self.vector[5]))
        if abs(rz) > 0.02:  # the turn about the vertical: an arc, counter-clockwise for positive
            p.setPen(QPen(theme.WARN, 3))
            p.drawArc(QRectF(c.x() - r * 0.6, c.y() - r * 0.6, r * 1.2, r * 1.2), 90 * 16, int(rz * 180 * 16))
        bar = QRectF(w - 14, c.y() - r, 8, 2 * r)  # z: up is up
        p.setPen(QPen(theme.GRID, 1))
        p.drawRect(bar)
        z = max(-1.0, min(1.0, self.vector[2]))
        if abs(z) > 0.02:
            p.fillRect(QRectF(bar.x(), c.y() - max(z, 0) * r, 8, abs(z) * r), theme.OK)
        p.end()


class AxesView(QWidget):
    """Live per-axis motion of one device; ``set_device(device, on_settings)`` starts following it.

    ``on_settings(mapper_settings)`` is called after a flip, so whoever maps the device (the
    station's agent) uses the new settings at once.
    """

    def __init__(self, parent: QWidget | None = None, interval_ms: int = 50) -> None:
        super().__init__(parent)
        self.device: TeleopDevice | None = None
        self.monitor: AxisMonitor | None = None
        self.motion: AxisMotion | None = None
        self._on_settings: Callable[[MapperSettings], None] | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        panes = QWidget()
        row = QGridLayout(panes)
        row.setContentsMargins(0, 0, 0, 0)
        self.operator_pane = _Pane("you (operator)", _OPERATOR_AXES)
        self.robot_pane = _Pane("robot base", _ROBOT_AXES)
        row.addWidget(self.operator_pane, 0, 0)
        row.addWidget(self.robot_pane, 0, 1)
        col.addWidget(panes)
        self.words = theme.note_label("")
        col.addWidget(self.words)
        flips = QWidget()
        grid = QGridLayout(flips)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("flip"), 0, 0)
        self.flip_boxes: dict[str, QCheckBox] = {}
        for i, axis in enumerate(AXIS_NAMES):
            box = QCheckBox(axis)
            box.setToolTip(f"reverse the operator's {axis} axis for this device (saved in its settings)")
            box.toggled.connect(lambda on, a=axis: self._flip(a, on))
            grid.addWidget(box, 0, i + 1)
            self.flip_boxes[axis] = box
        col.addWidget(flips)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(interval_ms)
        for box in self.flip_boxes.values():
            box.setEnabled(False)
        self.refresh()

    def set_device(self, device: TeleopDevice | None,
                   on_settings: Callable[[MapperSettings], None] | None = None) -> None:
        if device is self.device and on_settings == self._on_settings:  # bound methods: equal, not identical
            return
        self.device, self._on_settings = device, on_settings
        self.monitor = AxisMonitor(device.settings.mapper) if device is not None else None
        for axis, box in self.flip_boxes.items():
            box.blockSignals(True)
            box.setChecked(bool(device is not None and device.settings.mapper.axis_flip[AXIS_NAMES.index(axis)]))
            box.setEnabled(device is not None)
            box.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        dev = self.device
        if dev is None or self.monitor is None or not dev.is_connected:
            self.motion = None
            vectors = ([0.0] * 6, [0.0] * 6)
            self.words.setText("connect a device to see its axes")
        else:
            self.motion = self.monitor.update(dev.peek_command())
            vectors = (self.motion.operator.tolist(), self.motion.robot.tolist())
            self.words.setText(self.motion.dominant() or f"at rest ({self.motion.unit})")
        self.operator_pane.vector, self.robot_pane.vector = vectors
        self.operator_pane.update()
        self.robot_pane.update()

    def _flip(self, axis: str, on: bool) -> None:
        if self.device is None:
            return
        mapper = set_axis_flip(self.device, axis, on)
        if self.monitor is not None:
            self.monitor.settings = mapper
        if self._on_settings is not None:
            self._on_settings(mapper)
        self.refresh()
