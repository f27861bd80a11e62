import numpy as np
import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import Qt  # noqa: E402

from app.gui.station_window import StationWindow  # noqa: E402

pytestmark = pytest.mark.gui


def test_station_window_shows_cameras_and_moves_with_the_keyboard(qtbot):
    w = StationWindow("pick_place")
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.worker.frames, timeout=15000) as blocker:
        pass
    frames = blocker.args[0]
    assert set(frames) == {"scene", "wrist"}
    assert all(f.ndim == 3 and f.std() > 1 for f in frames.values())
    poses = []
    w.worker.status.connect(lambda s: poses.append(np.array(s["pose"][:3])))
    qtbot.waitUntil(lambda: len(poses) > 2, timeout=5000)
    start = poses[-1].copy()
    qtbot.keyPress(w, Qt.Key.Key_R)  # up
    qtbot.wait(700)
    qtbot.keyRelease(w, Qt.Key.Key_R)
    qtbot.wait(200)
    assert poses[-1][2] > start[2] + 0.02
    w.close()
