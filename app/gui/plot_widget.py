"""A small line plot drawn with QPainter (PySide6-Essentials has no QtCharts).

Used for the live training loss, the action and proprioception traces of an episode, the tick
timing meter and the robustness sweep. It draws named series, shaded spans (detected pauses, a
trim), a cursor, 1-2-5 ticks and a legend; long series are reduced to a min/max envelope per pixel
column so a 100 000-point loss curve paints as fast as a short one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui import theme


@dataclass
class Series:
    name: str
    x: np.ndarray
    y: np.ndarray
    colour: QColor
    style: str = "line"  # "line", "points" or "line+points"
    width: float = 1.6


@dataclass
class Span:
    """A shaded x interval, e.g. a detected pause or the trimmed-away part of an episode."""

    start: float
    end: float
    colour: QColor = field(default_factory=lambda: QColor(216, 162, 53, 60))
    label: str = ""


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick positions (1, 2, 5 × 10^k) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda c: abs(math.log(c / raw)))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * step:
        ticks.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    return ticks


def format_tick(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.0e}"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def format_ticks(ticks: list[float]) -> list[str]:
    """Labels for a row of ticks with just enough decimals that neighbours never read the same
    (a loss that moves in the fourth digit must not show eight ticks labelled 1.17)."""
    labels = [format_tick(t) for t in ticks]
    if len(ticks) < 2 or len(set(labels)) == len(labels):
        return labels
    step = min(abs(b - a) for a, b in zip(ticks, ticks[1:], strict=False))
    if step <= 0:
        return labels
    decimals = min(12, max(0, -math.floor(math.log10(step) + 1e-6)))
    return [f"{t:.{decimals}f}" for t in ticks]


def envelope(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a long series to ≤ 2·buckets points keeping each bucket's min and max (in order)."""
    n = len(x)
    if n <= 2 * buckets:
        return x, y
    edges = np.linspace(0, n, buckets + 1).astype(int)
    xs, ys = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        seg = y[a:b]
        finite = np.isfinite(seg)
        if not finite.any():
            continue
        i_min = a + int(np.nanargmin(seg))
        i_max = a + int(np.nanargmax(seg))
        for i in sorted((i_min, i_max)):
            xs.append(x[i])
            ys.append(y[i])
    return np.asarray(xs), np.asarray(ys)


class PlotWidget(QWidget):
    """Named series over a shared x axis.

    ``clicked(x)`` reports a click (or a drag) in data coordinates; with Shift held, a drag selects
    an x range instead, reported by ``range_selected(start, end)`` and drawn until cleared.
    """

    clicked = Signal(float)
    range_selected = Signal(float, float)

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "", log_y: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.x_label = x_label
        self.y_label = y_label
        self.log_y = log_y
        self._series: dict[str, Series] = {}
        self._buffers: dict[str, tuple[list[float], list[float]]] = {}
        self._spans: list[Span] = []
        self._cursor: float | None = None
        self._x_range: tuple[float, float] | None = None
        self._y_range: tuple[float, float] | None = None
        self._selection: tuple[float, float] | None = None
        self._drag_anchor: float | None = None
        self.selectable = False
        self.empty_text = "no data yet"
        self.setMinimumSize(200, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)  # fills its whole rectangle

    # -- data ------------------------------------------------------------------------------------
    def set_series(self, name: str, x: np.ndarray, y: np.ndarray, colour: QColor | None = None,
                   style: str = "line") -> None:
        x = np.asarray(x, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        if len(x) != len(y):
            raise ValueError(f"series {name!r}: x has {len(x)} values, y has {len(y)}")
        colour = colour or (self._series[name].colour if name in self._series else self._next_colour())
        self._series[name] = Series(name, x, y, QColor(colour), style)
        self._buffers.pop(name, None)
        self.update()

    def append(self, name: str, x: float, y: float, colour: QColor | None = None) -> None:
        """Add one point to a live series (the training loss)."""
        xs, ys = self._buffers.setdefault(name, ([], []))
        if name in self._series and not xs:  # continue a series set with set_series
            xs.extend(self._series[name].x.tolist())
            ys.extend(self._series[name].y.tolist())
        xs.append(float(x))
        ys.append(float(y))
        prev = self._series.get(name)
        self._series[name] = Series(name, np.asarray(xs), np.asarray(ys),
                                    QColor(colour) if colour else (prev.colour if prev else self._next_colour()),
                                    prev.style if prev else "line")
        self.update()

    def remove(self, name: str) -> None:
        self._series.pop(name, None)
        self._buffers.pop(name, None)
        self.update()

    def clear(self) -> None:
        self._series.clear()
        self._buffers.clear()
        self._spans = []
        self._cursor = None
        self.update()

    def series_names(self) -> list[str]:
        return list(self._series)

    def series(self, name: str) -> Series:
        return self._series[name]

    def set_spans(self, spans: list[Span]) -> None:
        self._spans = list(spans)
        self.update()

    def spans(self) -> list[Span]:
        return list(self._spans)

    def set_selection(self, start: float | None, end: float | None = None) -> None:
        self._selection = None if start is None or end is None else (min(start, end), max(start, end))
        self.update()

    def selection(self) -> tuple[float, float] | None:
        return self._selection

    def set_cursor(self, x: float | None) -> None:
        self._cursor = x
        self.update()

    def set_x_range(self, lo: float | None, hi: float | None = None) -> None:
        self._x_range = None if lo is None or hi is None else (float(lo), float(hi))
        self.update()

    def set_y_range(self, lo: float | None, hi: float | None = None) -> None:
        self._y_range = None if lo is None or hi is None else (float(lo), float(hi))
        self.update()

    def _next_colour(self) -> QColor:
        return theme.SERIES[len(self._series) % len(theme.SERIES)]

    # -- geometry --------------------------------------------------------------------------------
    def _limits(self) -> tuple[float, float, float, float] | None:
        xs, ys = [], []
        for s in self._series.values():
            m = np.isfinite(s.x) & np.isfinite(s.y)
            if self.log_y:
                m &= s.y > 0
            if m.any():
                xs += [s.x[m].min(), s.x[m].max()]
                ys += [s.y[m].min(), s.y[m].max()]
        if not xs and self._x_range is None:
            return None
        x0, x1 = self._x_range or (min(xs), max(xs))
        if self._y_range is not None:
            y0, y1 = self._y_range
        elif ys:
            y0, y1 = min(ys), max(ys)
        else:
            y0, y1 = (1.0, 10.0) if self.log_y else (0.0, 1.0)
        if self.log_y:
            y0, y1 = math.log10(max(y0, 1e-12)), math.log10(max(y1, 1e-12))
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if y1 <= y0:
            pad = abs(y0) * 0.1 or 0.5
            y0, y1 = y0 - pad, y1 + pad
        elif self._y_range is None:
            pad = (y1 - y0) * 0.06
            y0, y1 = y0 - pad, y1 + pad
        return x0, x1, y0, y1

    def _plot_rect(self) -> QRectF:
        top = 24 if (self.title or len(self._series) > 1) else 8
        bottom = 34 if self.x_label else 22
        return QRectF(52, top, max(10, self.width() - 52 - 12), max(10, self.height() - top - bottom))

    def data_to_pixel(self, x: float, y: float) -> QPointF:
        lim = self._limits()
        r = self._plot_rect()
        if lim is None:
            return QPointF(r.left(), r.bottom())
        x0, x1, y0, y1 = lim
        if self.log_y:
            y = math.log10(max(y, 1e-12))
        return QPointF(r.left() + (x - x0) / (x1 - x0) * r.width(), r.bottom() - (y - y0) / (y1 - y0) * r.height())

    def pixel_to_x(self, px: float) -> float | None:
        lim = self._limits()
        if lim is None:
            return None
        r = self._plot_rect()
        x0, x1 = lim[0], lim[1]
        return x0 + (px - r.left()) / max(1.0, r.width()) * (x1 - x0)

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), theme.PANEL)
        small = QFont(p.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1.5))
        p.setFont(small)
        fm = p.fontMetrics()
        if self.title:
            p.setPen(theme.TEXT)
            p.drawText(QPointF(8, 4 + fm.ascent()), self.title)
        r = self._plot_rect()
        lim = self._limits()
        p.setPen(QPen(theme.GRID, 1))
        p.drawRect(r)
        if lim is None:
            p.setPen(theme.DIM)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            p.end()
            return
        x0, x1, y0, y1 = lim

        def px(x: np.ndarray) -> np.ndarray:
            return r.left() + (x - x0) / (x1 - x0) * r.width()

        def py(y: np.ndarray) -> np.ndarray:
            if self.log_y:
                y = np.log10(np.maximum(y, 1e-12))
            return r.bottom() - (y - y0) / (y1 - y0) * r.height()

        # spans under everything, the selection on top of them
        spans = list(self._spans)
        if self._selection is not None:
            spans.append(Span(*self._selection, QColor(76, 155, 232, 70)))
        for s in spans:
            a, b = float(px(np.array(s.start))), float(px(np.array(s.end)))
            a, b = max(a, r.left()), min(b, r.right())
            if b > a:
                p.fillRect(QRectF(a, r.top(), b - a, r.height()), s.colour)
        # grid and ticks
        p.setPen(QPen(theme.GRID, 1, Qt.PenStyle.DotLine))
        x_ticks = nice_ticks(x0, x1, max(2, int(r.width() / 90)))
        for t, label in zip(x_ticks, format_ticks(x_ticks), strict=True):
            X = float(px(np.array(t)))
            p.setPen(QPen(theme.GRID, 1, Qt.PenStyle.DotLine))
            p.drawLine(QPointF(X, r.top()), QPointF(X, r.bottom()))
            p.setPen(theme.DIM)
            p.drawText(QPointF(X - fm.horizontalAdvance(label) / 2, r.bottom() + 4 + fm.ascent()), label)
        y_ticks = self._y_ticks(y0, y1, max(2, int(r.height() / 40)))
        for t_plot, label in y_ticks:
            Y = r.bottom() - (t_plot - y0) / (y1 - y0) * r.height()
            p.setPen(QPen(theme.GRID, 1, Qt.PenStyle.DotLine))
            p.drawLine(QPointF(r.left(), Y), QPointF(r.right(), Y))
            p.setPen(theme.DIM)
            p.drawText(QPointF(r.left() - 6 - fm.horizontalAdvance(label), Y + fm.ascent() / 2 - 1), label)
        if self.x_label:
            p.setPen(theme.DIM)
            p.drawText(QRectF(r.left(), r.bottom() + 4 + fm.height(), r.width(), fm.height()),
                       Qt.AlignmentFlag.AlignHCenter, self.x_label)
        # series
        p.save()
        p.setClipRect(r.adjusted(-1, -1, 1, 1))
        buckets = max(16, int(r.width()))
        for s in self._series.values():
            m = np.isfinite(s.x) & np.isfinite(s.y)
            if self.log_y:
                m &= s.y > 0
            if not m.any():
                continue
            xs, ys = envelope(s.x[m], s.y[m], buckets)
            X, Y = px(xs), py(ys)
            if "line" in s.style and len(X) > 1:
                path = QPainterPath(QPointF(X[0], Y[0]))
                for a, b in zip(X[1:], Y[1:], strict=True):
                    path.lineTo(float(a), float(b))
                p.setPen(QPen(s.colour, s.width))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(path)
            if "points" in s.style or len(X) == 1:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(s.colour)
                for a, b in zip(X, Y, strict=True):
                    p.drawEllipse(QPointF(float(a), float(b)), 3.2, 3.2)
        if self._cursor is not None and x0 <= self._cursor <= x1:
            X = float(px(np.array(self._cursor)))
            p.setPen(QPen(QColor(255, 255, 255, 200), 1.2))
            p.drawLine(QPointF(X, r.top()), QPointF(X, r.bottom()))
        p.restore()
        # legend
        if len(self._series) > 1 or (self._series and not self.title):
            x = r.right() - 6
            for s in reversed(list(self._series.values())):
                w = fm.horizontalAdvance(s.name)
                x -= w
                p.setPen(theme.TEXT)
                p.drawText(QPointF(x, 4 + fm.ascent()), s.name)
                x -= 14
                p.fillRect(QRectF(x, 4 + fm.ascent() / 2 - 1, 10, 3), s.colour)
                x -= 12
        p.end()

    def _y_ticks(self, y0: float, y1: float, target: int) -> list[tuple[float, str]]:
        if not self.log_y:
            ticks = nice_ticks(y0, y1, target)
            return list(zip(ticks, format_ticks(ticks), strict=True))
        out = []
        for k in range(math.floor(y0), math.ceil(y1) + 1):
            if y0 <= k <= y1:
                out.append((float(k), format_tick(10.0 ** k)))
        if len(out) < 2:  # less than a decade: linear ticks in value space
            vals = nice_ticks(10 ** y0, 10 ** y1, target)
            out = [(math.log10(v), format_tick(v)) for v in vals if v > 0]
        return out

    def _x_at(self, e: QMouseEvent) -> float | None:
        r = self._plot_rect()
        px = min(max(e.position().x(), r.left()), r.right())
        return self.pixel_to_x(px)

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.LeftButton and self._plot_rect().contains(e.position()):
            x = self._x_at(e)
            if x is not None:
                if self.selectable and e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self._drag_anchor = x
                    self.set_selection(x, x)
                else:
                    self.clicked.emit(x)
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if e.buttons() & Qt.MouseButton.LeftButton:
            x = self._x_at(e)
            if x is not None:
                if self._drag_anchor is not None:
                    self.set_selection(self._drag_anchor, x)
                elif self._plot_rect().contains(e.position()):
                    self.clicked.emit(x)
        super().mouseMoveEvent(e)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._drag_anchor is not None and self._selection is not None:
            self._drag_anchor = None
            a, b = self._selection
            if b > a:
                self.range_selected.emit(a, b)
            else:
                self.set_selection(None)
        super().mouseReleaseEvent(e)
