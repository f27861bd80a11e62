"""Mouse gestures on a pyqtgraph plot of the timeline, as real Qt events on its viewport.

Tests use them to zoom, pan, Shift-drag and drag regions the way a curator does, so the plot's own
event handling (not a method called behind its back) is what they check.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.MouseButton.NoButton
MOVE_GAP_S = 0.012  # pyqtgraph drops mouse moves closer than 10 ms apart (its mouseRateLimit, 100/s)


def at(plot, t: float, y_fraction: float = 0.5) -> QPointF:
    """The viewport point of episode time ``t``, ``y_fraction`` of the way down the view box."""
    box = plot.box
    (_, _), (y0, y1) = box.viewRange()
    y = y1 - (y1 - y0) * y_fraction
    scene = box.mapViewToScene(QPointF(t, y))
    return QPointF(plot.mapFromScene(scene))


def _mouse(plot, kind, pos: QPointF, button, buttons, modifiers) -> None:
    vp = plot.viewport()
    glob = QPointF(vp.mapToGlobal(pos.toPoint()))
    QCoreApplication.sendEvent(vp, QMouseEvent(kind, pos, glob, button, buttons, modifiers))


def hover(plot, pos: QPointF, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Move the mouse there with no button held (pyqtgraph picks what a drag will grab on hover)."""
    time.sleep(MOVE_GAP_S)
    _mouse(plot, QEvent.Type.MouseMove, pos, NONE, NONE, modifiers)


def drag(plot, start: QPointF, end: QPointF, modifiers=Qt.KeyboardModifier.NoModifier, steps: int = 12) -> None:
    """Hover at ``start``, press, move in ``steps`` (each past pyqtgraph's move rate limit), release."""
    hover(plot, start + QPointF(1, 0), modifiers)
    hover(plot, start, modifiers)
    _mouse(plot, QEvent.Type.MouseButtonPress, start, LEFT, LEFT, modifiers)
    for k in range(1, steps + 1):
        p = start + (end - start) * (k / steps)
        time.sleep(MOVE_GAP_S)
        _mouse(plot, QEvent.Type.MouseMove, p, NONE, LEFT, modifiers)
    _mouse(plot, QEvent.Type.MouseButtonRelease, end, LEFT, NONE, modifiers)
    QCoreApplication.processEvents()


def click(plot, pos: QPointF) -> None:
    hover(plot, pos)
    _mouse(plot, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT, Qt.KeyboardModifier.NoModifier)
    _mouse(plot, QEvent.Type.MouseButtonRelease, pos, LEFT, NONE, Qt.KeyboardModifier.NoModifier)
    QCoreApplication.processEvents()


def wheel(plot, pos: QPointF, notches: int) -> None:
    """Scroll the wheel ``notches`` steps (positive: away from the user, which zooms in)."""
    vp = plot.viewport()
    glob = QPointF(vp.mapToGlobal(pos.toPoint()))
    ev = QWheelEvent(pos, glob, QPoint(0, 0), QPoint(0, 120 * notches), NONE, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QCoreApplication.sendEvent(vp, ev)
    QCoreApplication.processEvents()
