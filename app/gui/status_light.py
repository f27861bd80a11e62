"""A coloured dot with a label: the one way every panel shows a state (ok, warn, error, recording)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from app.gui import theme
from app.gui.elided_label import ElidedLabel


class _Dot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour = theme.IDLE
        self.setFixedSize(QSize(14, 14))

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        glow = QColor(self.colour)
        glow.setAlpha(70)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(glow)
        p.drawEllipse(QPointF(7, 7), 7, 7)
        p.setBrush(self.colour)
        p.drawEllipse(QPointF(7, 7), 4.5, 4.5)
        p.end()


class StatusLight(QWidget):
    """``set_state("ok" | "warn" | "error" | "idle" | "recording" | "busy", text)``."""

    def __init__(self, text: str = "", state: str = "idle", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dot = _Dot(self)
        # Elided, never widening its column: a status can be long (a path, an error), the tooltip has it whole.
        self.label = ElidedLabel(text, self, elide=Qt.TextElideMode.ElideRight)
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self._dot)
        row.addWidget(self.label, 1)
        self.state = ""
        self.set_state(state, text)

    def set_state(self, state: str, text: str | None = None) -> None:
        if state not in theme.STATE_COLOURS:
            raise ValueError(f"unknown state {state!r}; one of {sorted(theme.STATE_COLOURS)}")
        self.state = state
        self._dot.colour = theme.STATE_COLOURS[state]
        self._dot.update()
        if text is not None:
            self.label.setText(text)

    def text(self) -> str:
        return self.label.text()
