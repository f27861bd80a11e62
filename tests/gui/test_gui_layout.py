"""Every panel lays out cleanly at 1280×720 with long paths filled in: nothing cut off at the window's
edge or past a side column that does not scroll sideways, no button or label squeezed below its text
(issue #24: the Record panel's side column grew wider than the window once a long dataset path was
filled in). scripts/screenshots.sh shows the same at three sizes."""

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QScrollArea, QVBoxLayout, QWidget

pytestmark = pytest.mark.gui

LONG = "/home/operator/" + "a-very-long-folder-name-on-the-lab-share/" * 5 + "pick_place_2026-12-08/dataset"


def _fill_paths(window) -> int:
    """Put the long path in every field that takes a path (dataset, output, checkpoint, config)."""
    filled = 0
    for panel in window.panels.values():
        for edit in panel.findChildren(QLineEdit):
            hint = edit.placeholderText().lower()
            if any(word in hint for word in ("folder", "dataset", "path", "checkpoint", "run", "config", "json")):
                edit.setText(LONG)
                edit.editingFinished.emit()
                filled += 1
    return filled


@pytest.mark.parametrize("size", [(1280, 720), (2560, 1440)])
def test_no_panel_cuts_off_a_widget_with_long_paths(make_window, qtbot, size):
    from app.gui.layout_audit import cut_off_widgets

    w = make_window(start_station=False)
    w.resize(*size)
    assert _fill_paths(w) >= 3  # Record's dataset, Dataset's folder, Train's fields at least
    record = w.panels["record"]
    assert record.dataset_edit.text() == LONG
    for key, panel in w.panels.items():
        w.show_panel(key)
        qtbot.waitExposed(panel)
        qtbot.wait(50)
        assert (w.width(), w.height()) == size  # the window did not grow to fit a panel
        assert cut_off_widgets(w) == [], key
        assert panel.geometry().right() <= w.centralWidget().width()
    # the Record panel's side column stays inside the window, its buttons whole
    w.show_panel("record")
    qtbot.wait(50)
    side = next(s for s in record.findChildren(QScrollArea) if s.objectName() == "SideScroll")
    right = side.mapTo(w, side.rect().topRight()).x()
    assert right < w.width(), (right, w.width())
    for button in (record.start_button, record.stop_button, record.discard_button):
        r = button.mapTo(w, button.rect().topRight()).x()
        assert r < w.width() and button.width() >= button.minimumSizeHint().width()


def test_the_audit_finds_a_side_column_wider_than_its_scroll_area(qtbot):
    """The check can fail: a one-line label wider than a column that does not scroll sideways is found."""
    from app.gui.layout_audit import cut_off_widgets
    from app.gui.panels.base import Panel

    root = QWidget()
    col = QVBoxLayout(root)
    content = QWidget()
    inner = QVBoxLayout(content)
    inner.addWidget(QLabel("x" * 400))
    inner.addWidget(QPushButton("a button"))
    col.addWidget(Panel.side_scroll(content))
    qtbot.addWidget(root)
    root.resize(600, 400)
    root.show()
    qtbot.waitExposed(root)
    problems = cut_off_widgets(root)
    assert any("past the right edge of SideScroll" in p for p in problems), problems


def test_an_elided_label_keeps_its_column_narrow_and_its_text_whole_in_the_tooltip(qtbot):
    from app.gui.elided_label import ElidedLabel
    from app.gui.status_light import StatusLight

    label = ElidedLabel(LONG)
    qtbot.addWidget(label)
    label.resize(200, 20)
    label.show()
    assert label.minimumSizeHint().width() < 120
    assert label.is_elided() and "…" in label.elided_text() and label.toolTip() == LONG
    assert label.elided_text().endswith("dataset")  # a path keeps its end in view
    light = StatusLight("recording into " + LONG, "recording")
    qtbot.addWidget(light)
    assert light.minimumSizeHint().width() < 160  # a long status never widens its column
