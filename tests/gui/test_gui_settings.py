"""What the window remembers between sessions, and where errors go."""

import pytest

pytestmark = pytest.mark.gui


def _panels():
    from app.gui.panels.record import RecordPanel
    from app.gui.panels.station import StationPanel

    return [StationPanel, RecordPanel]


def test_layout_panel_and_form_survive_a_restart(make_window, qtbot, settings_file, tmp_path):
    w = make_window(panels=_panels(), start_station=False)
    w.resize(1234, 777)
    w.show_panel("record")
    rec = w.panels["record"]
    rec.operator_edit.setText("grace")
    rec.operator_edit.editingFinished.emit()
    rec.dataset_edit.setText(str(tmp_path / "mydata"))
    rec.dataset_edit.editingFinished.emit()
    w.close()
    assert settings_file.exists()

    from PySide6.QtWidgets import QMainWindow

    from app.gui.settings import open_settings, read_bytes

    saved = read_bytes(open_settings(settings_file), "window/geometry")
    assert saved is not None
    reference = QMainWindow()  # the offscreen screen is small: Qt fits a restored window onto it
    reference.setMinimumSize(w.minimumSize())
    reference.restoreGeometry(saved)
    w2 = make_window(panels=_panels(), start_station=False)
    assert w2.size() == reference.size()
    assert w2.current_panel().key == "record"
    rec2 = w2.panels["record"]
    assert rec2.operator_edit.text() == "grace"
    assert rec2.dataset_edit.text() == str(tmp_path / "mydata")


def test_errors_reach_the_status_bar_and_dialogs(make_window, qtbot):
    from PySide6.QtWidgets import QMessageBox

    w = make_window(panels=_panels(), start_station=False)
    w.ctx.messages.fail("camera wrist stopped")
    assert "camera wrist stopped" in w.message_label.text()
    w.ctx.messages.alert("Recording", "the disk is full")
    boxes = [b for b in w.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "the disk is full" in boxes[-1].text()
    assert "the disk is full" in w.message_label.text()
    boxes[-1].close()


def test_splitter_positions_survive_a_restart(qtbot, tmp_path):
    from app.gui.context import AppContext
    from app.gui.panels.dataset import DatasetPanel
    from app.gui.settings import open_settings
    from app.gui.station_worker import StationWorker

    ctx = AppContext(settings=open_settings(tmp_path / "gui.ini"), station=StationWorker())
    first = DatasetPanel(ctx)
    qtbot.addWidget(first)
    first.resize(1300, 800)
    first.show()
    split = first._splitters["main"]
    split.setSizes([400, 900])
    sizes = split.sizes()
    first.save_state()
    first.shutdown()
    second = DatasetPanel(ctx)
    qtbot.addWidget(second)
    second.resize(1300, 800)
    second.show()
    second.restore_state()
    assert second._splitters["main"].sizes() == sizes
    second.shutdown()
