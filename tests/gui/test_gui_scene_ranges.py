"""The Record panel's "Randomise scene" field: checked as typed, kept in the settings, drawn per episode."""

import json

import h5py
import pytest

pytestmark = pytest.mark.gui


def test_field_checks_text_and_persists_it(qtbot, settings_file):
    from app.gui.scene_ranges import SETTINGS_KEY, SceneRangesField
    from app.gui.settings import open_settings

    settings = open_settings(settings_file)
    field = SceneRangesField(settings)
    qtbot.addWidget(field)
    assert field.valid and field.ranges().as_dict() == {}
    seen = []
    field.validity_changed.connect(seen.append)
    field.setText("object_color:0-2")
    assert not field.valid and seen == [False] and "[0, 1]" in field.toolTip()
    assert field.property("invalid") == "true"
    with pytest.raises(ValueError, match="Randomise scene"):
        field.ranges()
    field.setText("object_color:0-0.5,table_color:0.1-0.2")
    assert field.valid and seen == [False, True]
    field.save()
    settings.sync()
    again = SceneRangesField(open_settings(settings_file))
    qtbot.addWidget(again)
    assert again.text() == "object_color:0-0.5,table_color:0.1-0.2"
    assert again.ranges().as_dict() == {"object_color": [0.0, 0.5], "table_color": [0.1, 0.2]}
    assert settings.value(SETTINGS_KEY) == again.text()


def test_record_panel_draws_and_stores_each_episode_scene(make_window, qtbot, tmp_path):
    from app.gui.panels.record import RecordPanel
    from app.gui.panels.station import StationPanel
    from devices.sim.randomization import parse_ranges

    w = make_window(panels=[StationPanel, RecordPanel])
    w.show_panel("record")
    panel = w.panels["record"]
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=15000)
    panel.dataset_edit.setText(str(tmp_path / "ds"))
    panel.driver_combo.setCurrentIndex(panel.driver_combo.findData("expert"))
    panel.auto_end_check.setChecked(False)
    panel.randomize_edit.setText("object_color:0.2-0.8")
    c = panel.controller
    seeds = []
    for _ in range(2):
        seeds.append(w.ctx.station.seed + 1)
        assert panel.command("start")
        qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
        assert not panel.randomize_edit.isEnabled()
        qtbot.wait(400)
        assert panel.command("toggle")
        qtbot.waitUntil(lambda: c.state == "idle", timeout=15000)
    files = sorted((tmp_path / "ds" / "episodes").glob("*.h5"))
    assert len(files) == 2
    ranges = parse_ranges("object_color:0.2-0.8")
    for f, seed in zip(files, seeds, strict=True):
        with h5py.File(f) as h:
            scene = json.loads(h.attrs["scene"])
            assert int(h.attrs["seed"]) == seed
            assert scene == {"perturbations": ranges.draw(seed), "randomize": {"object_color": [0.2, 0.8]}}
            assert json.loads(h.attrs["station"])["perturbations"] == ranges.draw(seed)
    # A bad range refuses to start, with the field's one line.
    panel.randomize_edit.setText("object_color:0.9-0.1")
    assert not panel.command("start")
    assert "Randomise scene" in str(w.ctx.messages.history[-1])


def test_a_sweep_cell_picked_in_the_run_panel_records_tagged_demos_under_it(make_window, qtbot, tmp_path):
    from app.gui.panels.record import RecordPanel
    from app.gui.panels.run import RunPanel
    from app.gui.panels.station import StationPanel
    from policy.sweep import SweepCell, SweepReport

    def cell(name, sev, rate):
        return SweepCell(perturbation=name, severity=sev, episodes=10, success_rate=rate, mean_score=rate)

    report = SweepReport(task="pick_place", policy="policy:run", seed=0, episodes_per_cell=10, severities=[0.5],
                         latency="0", seconds=1.0, baseline=cell("none", 0.0, 1.0),
                         cells=[cell("lighting", 0.5, 1.0), cell("object_color", 0.5, 0.0)]).summary()
    w = make_window(panels=[StationPanel, RecordPanel, RunPanel])
    run, rec = w.panels["run"], w.panels["record"]
    assert not run.recollect.record_button.isEnabled()  # no sweep shown yet
    run.show_sweep(report)
    assert run.recollect.cells_combo.count() == 2
    assert run.recollect.cells_combo.itemText(0).startswith("object_color 0.5: 0%")  # worst first
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=15000)
    run.recollect.record_button.click()
    assert w.current_panel() is rec and rec.randomize_edit.text() == "object_color:0.5"
    rec.dataset_edit.setText(str(tmp_path / "ds"))
    rec.driver_combo.setCurrentIndex(rec.driver_combo.findData("expert"))
    rec.auto_end_check.setChecked(False)
    assert rec.record_settings().tags == ("sweep:object_color@0.5",)
    assert rec.command("start")
    qtbot.waitUntil(lambda: rec.controller.state == "recording", timeout=10000)
    qtbot.wait(400)
    assert rec.command("toggle")
    qtbot.waitUntil(lambda: rec.controller.state == "idle", timeout=15000)
    (f,) = sorted((tmp_path / "ds" / "episodes").glob("*.h5"))
    with h5py.File(f) as h:
        assert json.loads(h.attrs["tags"]) == ["sweep:object_color@0.5"]
        assert json.loads(h.attrs["scene"])["perturbations"] == {"object_color": 0.5}
    # Editing the scene away from the cell drops its tag.
    rec.randomize_edit.setText("table_color:0-0.5")
    assert rec.record_settings().tags == ()
