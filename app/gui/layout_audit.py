"""Find widgets a window cuts off: the check behind "every panel lays out cleanly" (issue #24).

A widget is cut off when part of it lies outside an ancestor that clips it: outside the window, or
past the right edge of a scroll area that never scrolls sideways (the Record panel's side column
grew wider than the window once a long dataset path was filled in, so its buttons were cut at the
right). A button, check box or one-line label narrower than its own minimum size shows its text cut.
Scrollable content below the fold is not cut: it scrolls. Used by the layout tests and by
scripts/screenshots.py, which prints what it finds beside the pictures.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QLabel, QWidget

TOLERANCE_PX = 1


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def _scroll_area_of_viewport(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    if isinstance(parent, QAbstractScrollArea) and parent.viewport() is widget:
        return parent
    return None


def _name(widget: QWidget) -> str:
    text = ""
    for attr in ("text", "title"):
        fn = getattr(widget, attr, None)
        if callable(fn):
            try:
                value = fn()
            except TypeError:
                continue
            if isinstance(value, str) and value:
                text = value
                break
    label = widget.objectName() or type(widget).__name__
    return f"{label} {text[:40]!r}" if text else label


def cut_off_widgets(root: QWidget) -> list[str]:
    """One line per visible widget under ``root`` that ``root`` (or a clipping ancestor) cuts off."""
    problems: list[str] = []
    for w in root.findChildren(QWidget):
        if not w.isVisibleTo(root) or not w.isVisible() or w.width() <= 0 or w.height() <= 0:
            continue
        if w.window() is not root.window():
            continue  # a popup or a dialog
        problems += _outside_ancestors(w, root)
        problems += _squeezed_text(w)
    return problems


def _outside_ancestors(w: QWidget, root: QWidget) -> list[str]:
    ancestor = w.parentWidget()
    while ancestor is not None:
        area = _scroll_area_of_viewport(ancestor)
        r = _rect_in(w, ancestor)
        bounds = ancestor.rect()
        if area is not None:
            # Inside a scroll area: only sideways overflow of an area that cannot scroll sideways.
            if area.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff and \
                    r.right() > bounds.right() + TOLERANCE_PX:
                return [f"{_name(w)} reaches {r.right() - bounds.right()} px past the right edge of "
                        f"{_name(area)} (which does not scroll sideways)"]
            return []
        if not (r.left() >= bounds.left() - TOLERANCE_PX and r.top() >= bounds.top() - TOLERANCE_PX and
                r.right() <= bounds.right() + TOLERANCE_PX and r.bottom() <= bounds.bottom() + TOLERANCE_PX):
            return [f"{_name(w)} at {r.x()},{r.y()} {r.width()}×{r.height()} is cut off by {_name(ancestor)} "
                    f"({bounds.width()}×{bounds.height()})"]
        if ancestor is root:
            return []
        ancestor = ancestor.parentWidget()
    return []


def _squeezed_text(w: QWidget) -> list[str]:
    if isinstance(w, QLabel) and (w.wordWrap() or not w.text() or w.pixmap() is not None and not w.pixmap().isNull()):
        return []
    if not isinstance(w, (QLabel, QAbstractButton)):
        return []
    need = w.minimumSizeHint().width()
    if w.width() + TOLERANCE_PX < need:
        return [f"{_name(w)} is {w.width()} px wide but its text needs {need} px"]
    return []
