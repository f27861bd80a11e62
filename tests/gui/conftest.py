"""GUI test fixtures: the main window built over settings in a temporary folder.

No GUI test touches a user's real configuration: `open_settings` is always given a path under
pytest's tmp_path (and tests/conftest.py points DEMOSTATION_CONFIG_DIR at a temporary folder too).
"""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "settings" / "gui.ini"


@pytest.fixture
def make_window(qtbot, qapp, settings_file):
    """``make_window(panels=None, task="pick_place", start_station=True, station=None)`` → MainWindow."""
    from app.gui.main_window import build_main_window
    from app.gui.settings import open_settings
    from app.gui.theme import apply_theme

    apply_theme(qapp)
    windows = []

    def make(**kwargs):
        w = build_main_window(open_settings(settings_file), **kwargs)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        if w.isVisible() or w.ctx.station.isRunning():
            w.close()
    qapp.setStyleSheet("")
