"""One trace plot of the episode timeline, drawn by pyqtgraph.

The Dataset panel's curator looks closely at a second of a ten-minute episode and drags trims and
tagged ranges into place, so the plot must zoom, pan and edit regions and stay smooth on 6000
samples: pyqtgraph (a scene graph with view boxes, regions and lines, downsampling and clipping to
the view) does that, which the small QPainter `PlotWidget` never tried to. The plot shows data and
reports what the user did as signals; the catalog edits are the panel's business.

Mouse: wheel zooms time, drag pans, double-click shows the whole episode, a click moves the cursor,
Shift-drag selects a range (also inside a region), dragging a trim or a tagged range (its body or
an edge) moves it, dragging the cursor line scrubs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from app.gui import theme

SELECTION_COLOUR = QColor(76, 155, 232, 60)


@dataclass(frozen=True)
class Region:
    """A shaded time interval. ``key`` names the catalog object a drag edits (("trim", id) or
    ("tag", index into the episode's range tags)); None: fixed (a detected pause)."""

    start: float
    end: float
    colour: QColor
    label: str = ""
    key: tuple | None = None


class _RegionItem(pg.LinearRegionItem):
    """A region that hands a Shift-drag to its view (to select a range over it)."""

    def __init__(self, region: Region, movable: bool) -> None:
        super().__init__(values=(region.start, region.end), movable=movable, brush=pg.mkBrush(region.colour),
                         hoverBrush=pg.mkBrush(region.colour.lighter(140)), pen=pg.mkPen(region.colour.lighter(160)))
        self.region = region
        self.setToolTip(region.label + (" — drag to move, drag an edge to resize" if movable else ""))

    def mouseDragEvent(self, ev) -> None:  # noqa: N802
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier and self.getViewBox() is not None:
            self.getViewBox().mouseDragEvent(ev)  # pyqtgraph gives the drag to what the hover picked: this
            return
        super().mouseDragEvent(ev)


class _Cursor(pg.InfiniteLine):
    """The cursor line. It is added with ignoreBounds, so its moves never change the auto range; yet
    pyqtgraph tells the view box of every move, which then repaints all of itself (every region and
    trace) at each step of playback. Not telling it repaints only the strip the line left and entered."""

    def informViewBoundsChanged(self) -> None:  # noqa: N802
        pass


class _TimeBox(pg.ViewBox):
    """Pans and zooms time only; a click seeks, a double-click shows all, Shift-drag selects."""

    def __init__(self, plot: "TimelinePlot") -> None:
        super().__init__()
        self._plot = plot
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            if ev.double():
                self._plot.show_all()
            else:
                self._plot.clicked.emit(float(self.mapSceneToView(ev.scenePos()).x()))
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            a = float(self.mapSceneToView(ev.buttonDownScenePos()).x())
            b = float(self.mapSceneToView(ev.scenePos()).x())
            self._plot.selecting(min(a, b), max(a, b), ev.isFinish())
            return
        super().mouseDragEvent(ev, axis)


class TimelinePlot(pg.PlotWidget):
    """Named traces over episode time, with regions, a range selection and a draggable cursor.

    Signals: ``clicked(t)``; ``cursor_dragged(t)`` while the cursor line is dragged;
    ``selection_changed(start, end)`` when a Shift-drag or a drag of the selection ends;
    ``region_moving(key, start, end)`` during a region drag and ``region_moved(key, start, end)``
    when it ends.
    """

    clicked = Signal(float)
    cursor_dragged = Signal(float)
    selection_changed = Signal(float, float)
    region_moving = Signal(object, float, float)
    region_moved = Signal(object, float, float)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        self.box = _TimeBox(self)
        super().__init__(parent, background=theme.BASE, viewBox=self.box)
        self.title = title
        item = self.getPlotItem()
        self._colours: dict[str, QColor] = {}
        self._retitle()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.hideButtons()
        item.setMenuEnabled(False)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.GRID))
            axis.setTextPen(pg.mkPen(theme.DIM))
        self.box.enableAutoRange(axis=pg.ViewBox.YAxis)
        self.box.setAutoVisible(y=True)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._regions: list[_RegionItem] = []
        self._duration = 0.0
        self.cursor = _Cursor(pos=0.0, angle=90, movable=True, pen=pg.mkPen(theme.TEXT, width=1.4),
                                      hoverPen=pg.mkPen(theme.ACCENT, width=3))
        self.cursor.setZValue(100)
        self.cursor.sigDragged.connect(lambda line: self.cursor_dragged.emit(float(line.value())))
        self.cursor.setVisible(False)
        item.addItem(self.cursor, ignoreBounds=True)
        self._selection = _RegionItem(Region(0.0, 0.0, SELECTION_COLOUR, "selection"), movable=True)
        self._selection.setZValue(50)
        self._selection.setVisible(False)
        self._selection.sigRegionChangeFinished.connect(self._selection_dragged)
        item.addItem(self._selection, ignoreBounds=True)
        self.setMinimumHeight(110)

    # -- data ------------------------------------------------------------------------------------
    def set_series(self, name: str, x: np.ndarray, y: np.ndarray, colour: QColor) -> None:
        x = np.asarray(x, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        if len(x) != len(y):
            raise ValueError(f"series {name!r}: {len(x)} x values but {len(y)} y values")
        curve = self._curves.get(name)
        if curve is None:
            # A 1-pixel (cosmetic) pen: Qt's raster engine draws wider lines several times slower.
            curve = self.getPlotItem().plot(x, y, pen=pg.mkPen(colour, width=1))
            self._curves[name] = curve
            self._colours[name] = QColor(colour)
            self._retitle()
        else:
            curve.setData(x, y)

    def _retitle(self) -> None:
        """The title names each trace in its colour: a legend box inside a short plot covered the traces."""
        names = " ".join(f"<span style='color:{c.name()}'>━ {n}</span>" for n, c in self._colours.items())
        self.getPlotItem().setTitle(f"<span style='color:{theme.DIM.name()};font-size:9pt'>{self.title} · time in s"
                                    f"&nbsp;&nbsp;{names}</span>")

    def series_names(self) -> list[str]:
        return list(self._curves)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._curves[name].getOriginalDataset()
        return np.asarray(x), np.asarray(y)

    def reset(self) -> None:
        """Forget the episode: traces, regions, selection, cursor (not `clear`: pyqtgraph's PlotWidget
        binds that name to PlotItem.clear, which would also drop the cursor and selection items)."""
        for curve in self._curves.values():
            self.getPlotItem().removeItem(curve)
        self._curves = {}
        self._colours = {}
        self._retitle()
        self.set_regions([])
        self.set_selection(None)
        self.cursor.setVisible(False)
        self._duration = 0.0

    def set_duration(self, duration: float) -> None:
        """The episode's length: the view's limits (no panning into nothing) and the whole view."""
        self._duration = max(0.0, float(duration))
        hi = max(self._duration, 1e-3)
        self.box.setLimits(xMin=0.0, xMax=hi, minXRange=min(hi, 0.5))
        for r in self._regions + [self._selection]:
            r.setBounds((0.0, hi))
        self.cursor.setBounds((0.0, hi))
        self.cursor.setVisible(self._duration > 0)
        self.show_all()

    def show_all(self) -> None:
        self.box.setXRange(0.0, max(self._duration, 1e-3), padding=0.0)

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.box.viewRange()[0]
        return float(lo), float(hi)

    # -- regions ---------------------------------------------------------------------------------
    def set_regions(self, regions: list[Region]) -> None:
        """Show these regions; ones already shown unchanged are kept (an edit rebuilds only what changed)."""
        def sig(r: Region) -> tuple:
            return r.start, r.end, r.label, r.key, r.colour.rgba()

        old: dict[tuple, list[_RegionItem]] = {}
        for item in self._regions:
            old.setdefault(sig(item.region), []).append(item)
        kept: list[_RegionItem] = []
        hi = max(self._duration, 1e-3)
        for region in regions:
            # reuse an item showing this region where it is (not one dragged elsewhere whose move was refused)
            same = [it for it in old.get(sig(region), []) if tuple(it.getRegion()) == (region.start, region.end)]
            if same:
                old[sig(region)].remove(same[0])
                kept.append(same[0])
                continue
            movable = region.key is not None
            item = _RegionItem(region, movable)
            item.setZValue(10 if movable else 5)
            item.setBounds((0.0, hi))
            if movable:
                item.sigRegionChanged.connect(lambda it: self.region_moving.emit(it.region.key, *it.getRegion()))
                item.sigRegionChangeFinished.connect(lambda it: self.region_moved.emit(it.region.key, *it.getRegion()))
            self.getPlotItem().addItem(item, ignoreBounds=True)
            kept.append(item)
        for items in old.values():
            for item in items:
                self.getPlotItem().removeItem(item)
        self._regions = kept

    def regions(self) -> list[Region]:
        return [item.region for item in self._regions]

    spans = regions  # the name the QPainter plot used

    def region_item(self, key: tuple) -> pg.LinearRegionItem | None:
        return next((it for it in self._regions if it.region.key == key), None)

    def show_region(self, key: tuple, start: float, end: float) -> None:
        """Follow a twin region being dragged on another plot (no signal back)."""
        item = self.region_item(key)
        if item is not None:
            item.blockSignals(True)
            item.setRegion((start, end))
            item.blockSignals(False)

    # -- selection and cursor --------------------------------------------------------------------
    def selecting(self, start: float, end: float, finished: bool) -> None:
        lo, hi = max(0.0, start), min(self._duration, end) if self._duration else end
        self.set_selection(lo, hi)
        if finished and hi > lo:
            self.selection_changed.emit(lo, hi)

    def set_selection(self, start: float | None, end: float | None = None) -> None:
        self._selection.blockSignals(True)
        if start is None or end is None:
            self._selection.setVisible(False)
        else:
            self._selection.setRegion((start, end))
            self._selection.setVisible(True)
        self._selection.blockSignals(False)

    def selection(self) -> tuple[float, float] | None:
        if not self._selection.isVisible():
            return None
        a, b = self._selection.getRegion()
        return (float(a), float(b)) if b > a else None

    def _selection_dragged(self, item) -> None:
        sel = self.selection()
        if sel is not None:
            self.selection_changed.emit(*sel)

    def set_cursor(self, t: float, follow: bool = True) -> None:
        """Move the cursor line; with ``follow``, pan a zoomed view so the cursor stays in sight."""
        self.cursor.setValue(t)
        if not follow:
            return
        lo, hi = self.x_range()
        if (t < lo or t > hi) and hi - lo < self._duration:
            width = hi - lo
            start = min(max(0.0, t - 0.1 * width), max(0.0, self._duration - width))
            self.box.setXRange(start, start + width, padding=0.0)

    def cursor_position(self) -> float:
        return float(self.cursor.value())
