"""Record panel: live recording through the recorder's session, driven by buttons, keys or the pedal."""

import json

import h5py
import numpy as np
import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def _panels():
    from app.gui.panels.record import RecordPanel
    from app.gui.panels.station import StationPanel

    return [StationPanel, RecordPanel]


def test_record_next_and_discard_with_the_expert(make_window, qtbot, tmp_path):
    w = make_window(panels=_panels())
    w.show_panel("record")
    panel = w.panels["record"]
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=15000)
    panel.dataset_edit.setText(str(tmp_path / "ds"))
    panel.operator_edit.setText("ada")
    panel.driver_combo.setCurrentIndex(panel.driver_combo.findData("expert"))
    panel.auto_end_check.setChecked(False)
    c = panel.controller
    samples = []
    c.sample.connect(samples.append)

    assert panel.command("start"), (c.state, c.busy, w.ctx.messages.history[-3:])
    qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
    assert panel.rec_light.state == "recording" and panel.banner.property("recording") == "true"
    qtbot.waitUntil(lambda: len(samples) >= 12, timeout=10000)
    assert c.recording and w.ctx.station.externally_driven
    # a device button (here as the station worker reports it) marks a recovery in this episode
    w.ctx.station.device_events.emit(["mark_recovery"])
    assert c.marks == 1
    # the pedal's key: keep this one and start the next (shortcuts need the window to be active)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    qtbot.keyClick(w, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: c.counts.kept == 1 and c.state == "recording", timeout=15000)
    qtbot.wait(1200)
    # Return stops and keeps
    qtbot.keyClick(w, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: c.counts.kept == 2 and c.state == "idle", timeout=15000)
    assert not w.ctx.station.externally_driven
    # a third one, discarded
    assert panel.command("start")
    qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
    qtbot.wait(500)
    assert panel.command("discard")
    qtbot.waitUntil(lambda: c.counts.discarded == 1 and c.state == "idle", timeout=15000)

    files = sorted((tmp_path / "ds" / "episodes").glob("*.h5"))
    assert [f.stem for f in files] == c.counts.kept_ids
    with h5py.File(files[0]) as f:
        n = len(f["time"])
        assert n >= 12
        assert f["obs/images/scene"].shape == (n, 96, 96, 3)
        assert f.attrs["operator"] == "ada"
        assert bool(f.attrs["complete"])
        dt = np.diff(f["time"][:])
        assert abs(np.median(dt) - 0.1) < 0.01
        # the recorded action is the command the robot received: it moves like the expert does
        assert np.ptp(f["action/ee_pose"][:, :3], axis=0).max() > 0.01
        # recorded through the station's safety controller (the product path), at 100 Hz
        assert json.loads(f.attrs["timing"])["control_hz"] == 100.0
        events = json.loads(f.attrs["events"])
        assert [e["kind"] for e in events if e["kind"] == "recovery"] == ["recovery"]
    assert panel.recent.count() == 3
    assert "2 kept" in panel.count_label.text()
    assert "Hz" in panel.timing_light.text()


def test_record_refuses_without_a_dataset_and_says_so(make_window, qtbot):
    w = make_window(panels=_panels())
    panel = w.panels["record"]
    panel.dataset_edit.setText("")
    assert not panel.command("start")
    assert w.ctx.messages.history[-1] == ("error", "choose a dataset folder first")
    assert "choose a dataset folder" in w.message_label.text()
