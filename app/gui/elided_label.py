"""A one-line label that elides what does not fit (a long path, a long status) instead of widening
its column: the full text is in the tooltip. Its minimum width is a few characters, so a layout
never has to grow past the window to show it (issue #24: the Record panel's side column grew wider
than the window once a long dataset path was shown)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

MIN_CHARACTERS = 8


class ElidedLabel(QLabel):
    """``ElidedLabel(text, elide=Qt.TextElideMode.ElideMiddle)``: paths keep both ends by default."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 elide: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle) -> None:
        super().__init__(parent)
        self._elide = elide
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)  # shrinks to minimumSizeHint
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        super().setText(text)
        self.setToolTip(text if text else "")
        self.updateGeometry()

    def elided_text(self) -> str:
        """What is drawn at the current width (the whole text when it fits)."""
        return self.fontMetrics().elidedText(self.text(), self._elide, max(0, self.contentsRect().width()))

    def is_elided(self) -> bool:
        return self.elided_text() != self.text()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        return QSize(min(fm.horizontalAdvance(self.text()), fm.averageCharWidth() * MIN_CHARACTERS), fm.height())

    def sizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        m = self.contentsMargins()
        return QSize(fm.horizontalAdvance(self.text()) + m.left() + m.right(), fm.height() + m.top() + m.bottom())

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self.elided_text())
        p.end()
