"""A widget that shows one camera stream, scaled to fit, keeping its aspect ratio.

It can draw an overlay in image pixel coordinates on top of the frame — the policy's predicted
action chunk projected through the camera — so the overlay stays registered with the image at any
widget size.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui import theme


def to_qimage(image: np.ndarray) -> QImage:
    """(H, W, 3) uint8 RGB → a QImage that owns its pixels, in the 32-bit format Qt paints fastest.

    Scaling a 24-bit image to the widget costs Qt two and a half times as much as a 32-bit one, on
    every paint; converting once per frame is the cheaper side.
    """
    image = np.ascontiguousarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(QImage.Format.Format_RGB32)


class ImageView(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None, min_size: int = 160) -> None:
        super().__init__(parent)
        self._title = title
        self._image: QImage | None = None
        self._overlay: np.ndarray | None = None  # (N, 2) pixel coordinates in the image
        self._overlay_colour = QColor("#4cf0a0")
        self._overlay_label = ""
        self._badge = ""
        self._badge_colour = theme.RECORDING
        self._title_font: QFont | None = None
        self.placeholder = "waiting for frames…"
        self.frames_shown = 0
        self.setMinimumSize(min_size, min_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # It paints every pixel of its rectangle: Qt need not paint what lies beneath, 15 times a second.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)

    @property
    def title(self) -> str:
        return self._title

    def set_image(self, image: np.ndarray | None) -> None:
        self._image = None if image is None else to_qimage(image)
        self.frames_shown += image is not None
        self.update()

    def has_image(self) -> bool:
        return self._image is not None

    def set_overlay(self, points: np.ndarray | None, colour: QColor | None = None, label: str = "") -> None:
        """A polyline in image pixels (x right, y down); NaN rows (behind the camera) are skipped."""
        self._overlay = None if points is None else np.asarray(points, dtype=float).reshape(-1, 2)
        if colour is not None:
            self._overlay_colour = QColor(colour)
        self._overlay_label = label
        self.update()

    def set_badge(self, text: str, colour: QColor | None = None) -> None:
        """A short word in the top-right corner (REC, POLICY, E-STOP)."""
        self._badge = text
        if colour is not None:
            self._badge_colour = QColor(colour)
        self.update()

    def image_rect(self) -> QRectF | None:
        if self._image is None:
            return None
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(18, 20, 23))
        target = self.image_rect()
        if self._image is not None and target is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(target, self._image)
            self._paint_overlay(p, target)
        else:
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        p.setPen(QColor(235, 235, 235))
        if self._title_font is None:
            self._title_font = QFont(p.font())
            self._title_font.setBold(True)
        p.setFont(self._title_font)
        fm = p.fontMetrics()
        p.fillRect(8, 8, fm.horizontalAdvance(self._title) + 12, fm.height() + 6, QColor(0, 0, 0, 150))
        p.drawText(14, 8 + fm.ascent() + 3, self._title)
        if self._badge:
            w = fm.horizontalAdvance(self._badge) + 16
            x = self.width() - w - 8
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self._badge_colour)
            p.drawRoundedRect(QRectF(x, 8, w, fm.height() + 6), 4, 4)
            p.setPen(QColor(255, 255, 255))
            p.drawText(int(x + 8), 8 + fm.ascent() + 3, self._badge)
        p.end()

    def _paint_overlay(self, p: QPainter, target: QRectF) -> None:
        if self._overlay is None or len(self._overlay) == 0 or self._image is None:
            return
        sx = target.width() / self._image.width()
        sy = target.height() / self._image.height()
        pts = [QPointF(target.left() + (u + 0.5) * sx, target.top() + (v + 0.5) * sy) if np.isfinite(u) and np.isfinite(v)
               else None for u, v in self._overlay]
        p.save()
        p.setClipRect(target)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        n = len(pts)
        for i in range(n - 1):
            a, b = pts[i], pts[i + 1]
            if a is None or b is None:
                continue
            c = QColor(self._overlay_colour)
            c.setAlpha(int(255 - 150 * i / max(1, n - 1)))  # fades into the future
            p.setPen(QPen(c, 2.4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawLine(a, b)
        p.setPen(Qt.PenStyle.NoPen)
        for i, a in enumerate(pts):
            if a is None:
                continue
            c = QColor(self._overlay_colour)
            c.setAlpha(int(255 - 150 * i / max(1, n - 1)))
            p.setBrush(c)
            p.drawEllipse(a, 3.5 if i == 0 else 2.4, 3.5 if i == 0 else 2.4)
        if self._overlay_label:
            p.setPen(self._overlay_colour)
            p.drawText(QPointF(target.left() + 8, target.bottom() - 8), self._overlay_label)
        p.restore()
