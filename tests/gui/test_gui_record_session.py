"""An hour-long collection session in the Record panel: a goal with progress, per-operator counts,
a replay of each episode before keep or discard, and a practice mode that records nothing."""

import h5py
import pytest
from synthetic_dataset import write_episode

pytestmark = pytest.mark.gui


def _panels():
    from app.gui.panels.record import RecordPanel
    from app.gui.panels.station import StationPanel

    return [StationPanel, RecordPanel]


def _ready(make_window, qtbot, root, **fields):
    w = make_window(panels=_panels())
    w.show_panel("record")
    panel = w.panels["record"]
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=15000)
    panel.dataset_edit.setText(str(root))
    panel.dataset_edit.editingFinished.emit()
    panel.operator_edit.setText(fields.get("operator", "ada"))
    panel.operator_edit.editingFinished.emit()
    panel.driver_combo.setCurrentIndex(panel.driver_combo.findData("expert"))
    panel.auto_end_check.setChecked(False)
    return w, panel


def _record_one(panel, qtbot, samples: int = 12):
    c = panel.controller
    seen = []
    c.sample.connect(seen.append)
    assert panel.command("toggle"), panel.ctx.messages.history[-3:]
    qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
    qtbot.waitUntil(lambda: len(seen) >= samples, timeout=10000)
    assert panel.command("toggle")  # Return: stop
    qtbot.waitUntil(lambda: c.state == "idle", timeout=15000)
    c.sample.disconnect()


def test_goal_operator_counts_and_replay_before_keep_or_discard(make_window, qtbot, tmp_path, settings_file):
    root = tmp_path / "ds"
    for i in range(2):  # two episodes bob recorded earlier
        path = write_episode(root, i, samples=20, image=4)
        with h5py.File(path, "r+") as f:
            f.attrs["operator"] = "bob"
    w, panel = _ready(make_window, qtbot, root)
    qtbot.waitUntil(lambda: panel.dataset_operators == {"bob": 2}, timeout=10000)
    assert panel.operators_label.text() == "bob 2"
    panel.goal_spin.setValue(3)
    panel.goal_spin.editingFinished.emit()
    panel.review_check.setChecked(True)
    assert panel.goal_bar.isVisible() and panel.goal_bar.text() == "0 / 3 episodes"
    announced = []
    w.ctx.bus.episode_recorded.connect(lambda ds, eid: announced.append(eid))
    c = panel.controller

    # 1: stopped → replayed in the Dataset panel's frame viewer → kept with Return
    _record_one(panel, qtbot)
    assert panel.reviewing is not None and panel.left_stack.currentWidget() is panel.review
    first = panel.reviewing["id"]
    tl = panel.review.timeline
    qtbot.waitUntil(lambda: tl.episode is not None and tl.episode.id == first, timeout=10000)
    assert tl.is_playing() and set(tl.views) == {"scene", "wrist"}
    qtbot.waitUntil(lambda: tl.slider.value() >= 3, timeout=5000)  # it plays
    assert all(v.has_image() for v in tl.views.values())
    assert panel.rec_light.text() == "REVIEW" and not panel.start_button.isEnabled()
    assert announced == [] and panel.kept_count() == 0  # not in the dataset's story yet
    assert not panel.start_recording()  # a new episode waits for the verdict
    assert panel.command("toggle")  # Return keeps
    assert panel.reviewing is None and panel.left_stack.currentWidget() is panel.live
    assert announced == [first] and panel.kept_count() == 1
    assert panel.goal_bar.text() == "1 / 3 episodes"
    assert panel.operators_label.text() == "bob 2 · ada 1 (+1 now)"

    # 2: replayed, then discarded with Delete: its file is gone, nothing announced
    _record_one(panel, qtbot)
    second = panel.reviewing["id"]
    second_path = root / "episodes" / f"{second}.h5"
    assert second_path.is_file()
    assert panel.command("discard")
    qtbot.waitUntil(lambda: c.counts.discarded == 1, timeout=10000)
    assert not second_path.exists()
    assert announced == [first] and c.counts.kept_ids == [first] and panel.kept_count() == 1
    assert "1 kept · 1 discarded" in panel.count_label.text() and panel.goal_bar.text() == "1 / 3 episodes"
    assert sorted(p.stem for p in (root / "episodes").glob("*.h5")) == ["ep_000000", "ep_000001", first]
    assert panel.operators_label.text() == "bob 2 · ada 1 (+1 now)"

    # the goal, the operator and the replay choice are remembered; the counts come from the files
    w.close()
    w2 = make_window(panels=_panels())
    p2 = w2.panels["record"]
    assert (p2.operator_edit.text(), p2.goal_spin.value(), p2.review_check.isChecked()) == ("ada", 3, True)
    qtbot.waitUntil(lambda: p2.dataset_operators == {"bob": 2, "ada": 1}, timeout=10000)
    assert p2.goal_bar.text() == "0 / 3 episodes"  # a new session


def test_practice_records_nothing(make_window, qtbot, tmp_path):
    root = tmp_path / "practice_ds"
    w, panel = _ready(make_window, qtbot, root)
    panel.practice_check.setChecked(True)
    c = panel.controller
    announced = []
    w.ctx.bus.episode_recorded.connect(lambda ds, eid: announced.append(eid))
    start_tick = w.ctx.station.ticks
    assert panel.command("toggle")
    assert panel.practice_started is not None and panel.rec_light.text() == "PRACTICE"
    qtbot.waitUntil(lambda: w.ctx.station.agent is panel.expert, timeout=5000)  # the expert drives, as when recording
    qtbot.waitUntil(lambda: w.ctx.station.ticks > start_tick + 10, timeout=10000)
    qtbot.wait(1200)
    assert panel.elapsed_label.text() != "00:00.0"
    assert c.state == "idle" and not w.ctx.station.externally_driven  # no recording session exists
    assert panel.command("next")  # another practice attempt
    assert panel.practice_started is not None
    assert panel.command("toggle")  # stop
    assert panel.practice_started is None and panel.rec_light.text() == "READY"
    assert not root.exists()  # no dataset folder, no journal, no file
    assert (c.counts.kept, c.counts.discarded, c.counts.failed) == (0, 0, 0)
    assert announced == [] and panel.recent.count() == 0
    # practice off: the next Start records
    panel.practice_check.setChecked(False)
    assert panel.command("toggle")
    qtbot.waitUntil(lambda: c.state == "recording", timeout=10000)
    qtbot.wait(600)
    assert panel.command("toggle")
    qtbot.waitUntil(lambda: c.counts.kept == 1 and c.state == "idle", timeout=15000)
    assert len(list((root / "episodes").glob("*.h5"))) == 1
