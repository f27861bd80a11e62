"""The Qt binding itself must keep Python's reference counts right.

PySide6 6.12.0 on Python 3.11 returns None from void methods without taking a reference: each
QPainter call drains None's refcount, and a GUI painting 20 frames a second aborts within minutes
("Fatal Python error: none_dealloc"). pyproject.toml excludes it; this test catches a binding with
the same fault before an operator does.
"""

import sys

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

pytestmark = pytest.mark.gui


def test_void_qt_calls_do_not_drain_none(qapp):
    image = QImage(16, 16, QImage.Format.Format_RGB888)
    p = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for _ in range(500):
            p.setPen(QColor(10, 20, 30))
            p.drawLine(QPointF(0, 0), QPointF(5, 5))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setBrush(Qt.BrushStyle.NoBrush)
        after = sys.getrefcount(None)
    finally:
        p.end()
    assert after - before > -100, (f"None lost {before - after} references in 2000 void Qt calls: this Qt binding "
                                   "miscounts references (PySide6 6.12.0 on Python < 3.12); install 6.11")
