"""Dataset panel: opening fast, the timeline, and every curation edit (with undo)."""

import pytest
from panel_steps import open_dataset_in_panel
from synthetic_dataset import write_dataset, write_episode, write_known_dataset

pytestmark = pytest.mark.gui


def _panels():
    from app.gui.panels.dataset import DatasetPanel

    return [DatasetPanel]


def test_a_dataset_of_500_episodes_opens_without_reading_an_episode_file(make_window, qtbot, tmp_path,
                                                                          monkeypatch):
    """The table is listed from the catalog; no episode file is opened on the way (a dataset the
    catalog has seen before: the recorder's episodes are added to it as they are recorded). That is
    what makes it open at once; the time itself is `bench/gui_dataset_open.py`'s (bench/README.md)."""
    from tests.episode_files import count_h5_opens

    root = write_known_dataset(tmp_path / "big", 500)
    opened = count_h5_opens(monkeypatch)
    w = make_window(panels=_panels(), start_station=False)
    w.panels["dataset"].auto_scan = False  # the background scan of 500 files is the bench's business
    panel = open_dataset_in_panel(w, qtbot, root)
    assert panel.model.rowCount() == 500
    assert opened == [], f"opening a known dataset read {len(opened)} episode files"
    assert "500 episodes" in panel.summary_label.text()
    assert "50.0 min" in panel.summary_label.text()  # 500 × 6 s, from the catalog

def test_new_files_appear_after_the_background_scan(make_window, qtbot, tmp_path):
    root = write_dataset(tmp_path / "ds", 3, samples=20, image=4)
    w = make_window(panels=_panels(), start_station=False)
    panel = open_dataset_in_panel(w, qtbot, root)
    # Never opened before: every row is listed and filled from the files' attributes on open.
    assert panel.model.rowCount() == 3
    assert [r.pending for r in panel.model.rows()] == [False] * 3
    assert panel.model.row(0).device == "expert" and abs(panel.model.row(0).duration - 2.0) < 1e-6
    qtbot.waitUntil(lambda: panel.scans == 1, timeout=30000)
    assert panel.model.rowCount() == 3
    assert panel.model.row(0).pause_fraction is not None
    write_episode(root, 3, samples=20, image=4)
    (root / "episodes" / "ep_000099.h5").write_bytes(b"not hdf5")
    panel.open_dataset(root)
    qtbot.waitUntil(lambda: panel.scans == 2, timeout=30000)
    assert panel.model.rowCount() == 4
    assert panel.model.row_by_id("ep_000099") is None  # listed pending, dropped once found unreadable
    assert "ep_000099" in panel.stats_view.toPlainText()  # the unreadable file is reported, not fatal


def test_a_never_opened_dataset_lists_every_row_before_reading_a_file(make_window, qtbot, tmp_path, monkeypatch):
    """Rows of files the catalog has not read yet are shown pending at once, then filled batch by batch;
    each file is opened once for its facts (not once to check it and again to read it)."""
    import app.gui.panels.dataset as dataset_panel
    from tests.episode_files import count_h5_opens

    root = write_dataset(tmp_path / "ds", 7, samples=20, image=4)
    monkeypatch.setattr(dataset_panel, "IMPORT_BATCH", 3)
    opened = count_h5_opens(monkeypatch)
    w = make_window(panels=_panels(), start_station=False)
    panel = w.panels["dataset"]
    panel.auto_scan = False
    panel.path_edit.setText(str(root))
    seen_pending: list[int] = []
    panel.model.modelReset.connect(lambda: seen_pending.append(sum(r.pending for r in panel.model.rows())))
    panel.open_from_field()
    qtbot.waitUntil(lambda: panel.open_seconds is not None, timeout=30000)
    assert seen_pending[0] == 7  # listed from the file names, before any file was read
    assert panel.rows_seconds <= panel.open_seconds
    assert not any(r.pending for r in panel.model.rows()) and panel.model.rowCount() == 7
    assert sorted(opened) == sorted(p.name for p in (root / "episodes").glob("*.h5"))  # each once


def test_curation_edits_reach_the_table_and_the_timeline_and_undo(make_window, qtbot, tmp_path):
    root = tmp_path / "ds"
    write_episode(root, 0, samples=80, pause=(20, 45))
    write_episode(root, 1, samples=50, success=False)
    write_episode(root, 2, samples=50, device="keyboard")
    w = make_window(panels=_panels(), start_station=False)
    panel = open_dataset_in_panel(w, qtbot, root)
    model = panel.model
    qtbot.waitUntil(lambda: panel.scans == 1, timeout=30000)
    assert [r.id for r in model.rows()] == ["ep_000000", "ep_000001", "ep_000002"]
    qtbot.waitUntil(lambda: model.row_by_id("ep_000000").pause_fraction is not None, timeout=20000)
    assert model.row_by_id("ep_000000").pause_fraction > 0.2
    assert model.row_by_id("ep_000001").pause_fraction == 0.0
    assert "pause fraction" in panel.stats_view.toPlainText() or "episodes" in panel.stats_view.toPlainText()

    # the timeline shows the first episode's frames, traces and its detected pause
    panel.select_ids(["ep_000000"])
    qtbot.waitUntil(lambda: panel.timeline.episode is not None and panel.timeline.episode.id == "ep_000000",
                    timeout=10000)
    tl = panel.timeline
    assert set(tl.views) == {"scene", "wrist"} and all(v.has_image() for v in tl.views.values())
    assert len(tl.episode.pauses) == 1 and 1.0 < tl.episode.pauses[0][0] < 2.6 and 3.5 < tl.episode.pauses[0][1] < 5.0
    assert any(s.label == "pause" for s in tl.action_plot.spans())
    tl.seek(5.0)
    assert "5.0" in tl.time_label.text()

    def wait_row(eid, pred):
        qtbot.waitUntil(lambda: pred(model.row_by_id(eid)), timeout=10000)

    # outcome and tag over two episodes
    panel.select_ids(["ep_000001", "ep_000002"])
    panel.set_outcome("success")
    wait_row("ep_000001", lambda r: r.outcome == "success" and r.outcome_source == "curator")
    panel.tag_edit.setText("good grasp")
    panel.tag_selected()
    wait_row("ep_000002", lambda r: "good grasp" in r.tags)
    assert "good grasp" in model.row_by_id("ep_000001").tags

    # detect and trim the pause of episode 0, then trim and tag a range by hand
    panel.select_ids(["ep_000000"])
    qtbot.waitUntil(lambda: tl.episode.id == "ep_000000", timeout=5000)
    panel.detect_pauses()
    qtbot.waitUntil(lambda: any(t["status"] == "proposed" for t in tl.episode.trims), timeout=15000)
    panel.apply_trims()
    wait_row("ep_000000", lambda r: r.kept_duration < r.duration - 1.5)
    assert any(t["status"] == "applied" for t in tl.episode.trims)
    tl._on_range(6.0, 7.0)
    panel.tag_edit.setText("recovery")
    panel.tag_range()
    wait_row("ep_000000", lambda r: any(t[0] == "recovery" for t in r.range_tags))
    assert ("recovery", 6.0, 7.0) in tl.episode.range_tags

    # delete, undo, delete, restore
    panel.delete_selected()
    wait_row("ep_000000", lambda r: r.deleted)
    assert panel.proxy.rowCount() == 2  # deleted episodes are hidden
    panel.undo()
    wait_row("ep_000000", lambda r: not r.deleted)
    panel.deleted_check.setChecked(True)
    panel.select_ids(["ep_000000"])
    panel.delete_selected()
    wait_row("ep_000000", lambda r: r.deleted)
    panel.select_ids(["ep_000000"])
    panel.restore_selected()
    wait_row("ep_000000", lambda r: not r.deleted)
    # undo takes back the restore, then the delete
    panel.undo()
    wait_row("ep_000000", lambda r: r.deleted)


def test_logged_mistakes_are_proposed_as_trims_and_applied(make_window, qtbot, tmp_path):
    import h5py

    root = tmp_path / "ds"
    write_episode(root, 0, samples=60)
    write_episode(root, 1, samples=60)
    with h5py.File(root / "episodes" / "ep_000001.h5", "a") as f:  # the expert logged a missed grasp
        f.attrs["events"] = '[{"kind": "mistake", "start": 1.0, "end": 2.5, "label": "missed grasp"}, ' \
                            '{"kind": "recovery", "start": 2.5, "end": 3.0, "label": "re-grasp"}]'
    w = make_window(panels=_panels(), start_station=False)
    panel = open_dataset_in_panel(w, qtbot, root)
    qtbot.waitUntil(lambda: panel.scans == 1, timeout=30000)
    panel.find_mistakes()  # nothing selected: every episode
    qtbot.waitUntil(lambda: any("1 logged mistake proposed as trims in 1 episode (" in text for _, text in panel.ctx.messages.history), timeout=15000)
    panel.select_ids(["ep_000001"])
    qtbot.waitUntil(lambda: panel.timeline.episode is not None and panel.timeline.episode.id == "ep_000001",
                    timeout=10000)
    assert [(t["status"], t["start"], t["end"]) for t in panel.timeline.episode.trims] == [("proposed", 1.0, 2.5)]
    panel.apply_trims()
    row = lambda: panel.model.row_by_id("ep_000001")  # noqa: E731
    qtbot.waitUntil(lambda: row().kept_duration == pytest.approx(row().duration - 1.5), timeout=10000)
    assert panel.model.row_by_id("ep_000000").kept_duration == panel.model.row_by_id("ep_000000").duration


def test_opening_a_folder_that_is_not_a_dataset_says_so(make_window, qtbot, tmp_path):
    w = make_window(panels=_panels(), start_station=False)
    panel = w.panels["dataset"]
    panel.path_edit.setText(str(tmp_path / "missing"))
    panel.open_from_field()
    qtbot.waitUntil(lambda: any(s == "error" for s, _ in w.ctx.messages.history), timeout=10000)
    assert "does not exist" in w.ctx.messages.history[-1][1]
    assert panel.root is None


def test_the_last_dataset_opens_when_the_panel_is_first_shown(make_window, qtbot, tmp_path):
    root = write_dataset(tmp_path / "ds", 2, samples=20, image=4)
    w = make_window(panels=_panels(), start_station=False)
    w.ctx.settings.setValue("dataset/last", str(root))
    w.close()
    w2 = make_window(panels=_panels(), start_station=False)
    panel = w2.panels["dataset"]
    assert panel.path_edit.text() == str(root)
    w2.show_panel("dataset")
    panel.on_shown()
    qtbot.waitUntil(lambda: panel.root is not None and panel.scans >= 1, timeout=30000)
    assert panel.model.rowCount() == 2
