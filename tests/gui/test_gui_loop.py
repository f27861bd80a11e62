"""The loop of issue 24, walked in the real main window as a new user would: drive the hand with
the keyboard, record episodes with Return, find them in the Dataset panel without choosing the
dataset again, train with the Train panel's defaults (which must be `demostation train`'s) on a
tiny budget, and run the result in the Run panel, which records take-overs into the same dataset.

Each assertion names the break it guards against: a panel asking again for the dataset, a Train
form that trains something else than the command, the gripper read backwards.
"""

from pathlib import Path

import numpy as np
import pytest
from panel_steps import run_selected_checkpoint
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.slow]

TINY = Path(__file__).parent / "data" / "tiny_policy.json"


def _hold_key(qtbot, widget, key, ms: int) -> None:
    qtbot.keyPress(widget, key)
    qtbot.wait(ms)
    qtbot.keyRelease(widget, key)


def test_drive_record_curate_train_run_without_choosing_the_dataset_twice(make_window, qtbot, tmp_path):
    from app.cli import build_parser
    from app.commands.train import build_config

    w = make_window()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)

    # -- Station: the keyboard drives the hand; the gripper reads by the contract (0 open, 1 closed)
    station = w.panels["station"]
    qtbot.waitUntil(lambda: all(v.has_image() for v in station.live.views.values()), timeout=20000)
    poses = []
    w.ctx.station.status.connect(lambda s: poses.append(np.array(s["pose"][:3])))
    qtbot.waitUntil(lambda: len(poses) > 2 and station.gripper_label.text() != "—", timeout=5000)
    assert station.gripper_label.text().startswith("open"), station.gripper_label.text()
    start = poses[-1].copy()
    _hold_key(qtbot, station.live, Qt.Key.Key_R, 600)  # up
    qtbot.waitUntil(lambda: poses[-1][2] > start[2] + 0.02, timeout=3000)
    qtbot.keyClick(station.live, Qt.Key.Key_Space)  # close the gripper
    qtbot.waitUntil(lambda: "commanded closed" in station.gripper_label.text(), timeout=3000)
    assert "timed out" not in station.score_label.text()

    # -- Record: the dataset is chosen here, once; Return starts, the keyboard drives, Return keeps
    w.show_panel("record")
    rec = w.panels["record"]
    data = tmp_path / "dataset"
    rec.dataset_edit.setText(str(data))
    rec.auto_end_check.setChecked(False)
    c = rec.controller
    qtbot.keyClick(rec.live, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
    _hold_key(qtbot, rec.live, Qt.Key.Key_D, 800)
    _hold_key(qtbot, rec.live, Qt.Key.Key_F, 800)
    qtbot.keyClick(rec.live, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: c.counts.kept == 1 and c.state == "idle", timeout=15000)
    first = rec.recent.item(0).text().split()[0]

    # -- Dataset: the recorded dataset is already open, with the episode (no path typed, no Open)
    w.show_panel("dataset")
    ds = w.panels["dataset"]
    qtbot.waitUntil(lambda: ds.root is not None and ds.model.rowCount() == 1, timeout=20000)
    assert ds.root == data and ds.model.row(0).id == first
    # an episode kept while the Dataset panel is in view appears in it as it is kept
    assert rec.command("start")
    qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
    qtbot.wait(1500)
    assert rec.command("stop")
    qtbot.waitUntil(lambda: c.counts.kept == 2 and c.state == "idle", timeout=15000)
    qtbot.waitUntil(lambda: ds.model.rowCount() == 2, timeout=10000)

    # -- Train: the same dataset, and the defaults are exactly `demostation train`'s
    w.show_panel("train")
    tr = w.panels["train"]
    assert tr.dataset_edit.text() == str(data)
    tr.out_edit.setText(str(tmp_path / "runs" / "first"))
    argv = tr.spec().argv()
    assert argv == ["train", str(data), "--out", str(tmp_path / "runs" / "first"), "--json"]
    bare = build_parser().parse_args(["train", str(data), "--out", "x"])
    assert build_config(build_parser().parse_args(argv)).to_dict() == build_config(bare).to_dict()
    # a tiny budget on top of those defaults (the recipe stays the preset's: transformer, flow)
    tr.steps_spin.setValue(3)
    tr.batch_spin.setValue(4)
    tr.config_edit.setText(str(TINY))
    run = tr.start_training()
    assert run is not None
    qtbot.waitUntil(lambda: not run.is_running(), timeout=120000)
    assert run.state == "finished", run.error or "\n".join(run.log[-5:])
    assert run.checkpoint() is not None and run.step == 3 and run.total_steps == 3
    import json

    trained = json.loads((run.run_dir / "config.json").read_text())
    assert trained["policy"]["head"] == "transformer" and trained["policy"]["objective"] == "flow"

    # -- Run: the result drives the station; take-overs would go into the same dataset
    runp = run_selected_checkpoint(w, qtbot, run)
    assert runp.controller.recovery.dataset == data and "No dataset" not in runp.recovery_target.text()
    assert runp.controller.stop()
    qtbot.waitUntil(lambda: runp.controller.state == "idle", timeout=30000)

    # -- and after a restart every panel still shows it
    w.close()
    w2 = make_window(start_station=False)
    assert w2.ctx.dataset.path == data
    assert w2.panels["train"].dataset_edit.text() == str(data)
    assert w2.panels["record"].dataset_edit.text() == str(data)
