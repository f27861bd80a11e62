"""The whole loop through the GUI, as an operator, a curator and an engineer would walk it:
open the station, record two episodes with the expert, tag one, trim its pauses, train for a few
steps, load the checkpoint and run it in the station."""

from pathlib import Path

import pytest
from panel_steps import run_selected_checkpoint

pytestmark = [pytest.mark.gui, pytest.mark.slow]

TINY = Path(__file__).parent / "data" / "tiny_policy.json"


def test_station_record_curate_train_run(make_window, qtbot, tmp_path):
    w = make_window()
    # -- station
    station = w.panels["station"]
    qtbot.waitUntil(lambda: all(v.has_image() for v in station.live.views.values()), timeout=20000)

    # -- record two episodes with the expert (who pauses), keep both
    w.show_panel("record")
    rec = w.panels["record"]
    data = tmp_path / "dataset"
    rec.dataset_edit.setText(str(data))
    rec.driver_combo.setCurrentIndex(rec.driver_combo.findData("expert"))
    rec.pause_spin.setValue(1.0)
    rec.auto_end_check.setChecked(False)
    c = rec.controller
    assert rec.command("start")
    qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
    qtbot.wait(3000)
    assert rec.command("next")
    qtbot.waitUntil(lambda: c.counts.kept == 1 and c.state == "recording", timeout=15000)
    qtbot.wait(3000)
    assert rec.command("stop")
    qtbot.waitUntil(lambda: c.counts.kept == 2 and c.state == "idle", timeout=15000)

    # -- curate: the recorded dataset opens, one episode is tagged, pauses are detected and trimmed
    w.show_panel("dataset")
    ds = w.panels["dataset"]
    ds.path_edit.setText(str(data))
    ds.open_from_field()
    qtbot.waitUntil(lambda: ds.scans >= 1 and ds.model.rowCount() == 2, timeout=30000)
    first, second = [r.id for r in ds.model.rows()]
    ds.select_ids([first])
    qtbot.waitUntil(lambda: ds.timeline.episode is not None and ds.timeline.episode.id == first, timeout=10000)
    ds.tag_edit.setText("reviewed")
    ds.tag_selected()
    qtbot.waitUntil(lambda: "reviewed" in ds.model.row_by_id(first).tags, timeout=10000)
    ds.select_ids([first, second])
    ds.detect_pauses()
    qtbot.waitUntil(lambda: ds.scans >= 2, timeout=30000)
    ds.select_ids([first, second])
    ds.apply_trims()
    qtbot.waitUntil(lambda: any(r.kept_duration < r.duration - 0.5 for r in ds.model.rows()), timeout=10000)

    # -- train a few steps in a separate process
    w.show_panel("train")
    tr = w.panels["train"]
    assert tr.dataset_edit.text() == str(data)  # the opened dataset is offered
    tr.steps_spin.setValue(3)
    tr.batch_spin.setValue(4)
    tr.config_edit.setText(str(TINY))
    tr.out_edit.setText(str(tmp_path / "runs" / "first"))
    run = tr.start_training()
    assert run is not None
    qtbot.waitUntil(lambda: not run.is_running(), timeout=180000)
    assert run.state == "finished", run.error or "\n".join(run.log[-5:])
    assert run.checkpoint() is not None and run.step == 3
    assert tr.loss_plot.series_names()  # the loss was drawn

    # -- load the checkpoint and run it in the station
    runp = run_selected_checkpoint(w, qtbot, run)
    assert runp.controller.predict_ms() is not None
    assert runp.controller.stop()
    qtbot.waitUntil(lambda: runp.controller.state == "idle", timeout=30000)
    assert not w.ctx.station.externally_driven
