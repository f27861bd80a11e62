"""One current dataset for the whole window: opened or recorded into in one panel, shown by all,
new episodes listed as they are kept, and the same after a restart."""

import pytest
from synthetic_dataset import write_dataset, write_episode

pytestmark = pytest.mark.gui


def _panels():
    from app.gui.panels.dataset import DatasetPanel
    from app.gui.panels.record import RecordPanel
    from app.gui.panels.run import RunPanel
    from app.gui.panels.train import TrainPanel

    return [RecordPanel, DatasetPanel, TrainPanel, RunPanel]


def test_current_dataset_set_once_emits_once_and_persists(tmp_path):
    from app.gui.current_dataset import CurrentDataset
    from app.gui.settings import open_settings

    settings = open_settings(tmp_path / "gui.ini")
    current = CurrentDataset(settings)
    assert current.path is None and current.text() == ""
    seen = []
    current.changed.connect(seen.append)
    assert current.set(tmp_path / "a")
    assert not current.set(str(tmp_path / "a" / ".." / "a"))  # the same folder: no second signal
    assert not current.set("  ")
    assert seen == [str(tmp_path / "a")]
    settings.sync()
    assert CurrentDataset(open_settings(tmp_path / "gui.ini")).path == tmp_path / "a"


def test_a_dataset_opened_in_one_panel_is_the_one_every_panel_shows_and_after_a_restart(make_window, qtbot, tmp_path):
    root = write_dataset(tmp_path / "ds", 2, samples=20, image=4)
    w = make_window(panels=_panels(), start_station=False)
    w.show_panel("dataset")
    ds = w.panels["dataset"]
    ds.path_edit.setText(str(root))
    ds.open_from_field()
    qtbot.waitUntil(lambda: ds.model.rowCount() == 2 and ds.open_seconds is not None, timeout=30000)
    assert w.ctx.dataset.path == root
    assert w.panels["train"].dataset_edit.text() == str(root)
    assert w.panels["record"].dataset_edit.text() == str(root)
    assert w.panels["run"].controller.recovery.dataset == root and root.name in w.panels["run"].recovery_target.text()

    # A kept episode of the current dataset is listed at once, the selection kept.
    ds.select_ids(["ep_000000"])
    write_episode(root, 2, samples=20, image=4)
    w.ctx.bus.episode_recorded.emit(str(root), "ep_000002")
    qtbot.waitUntil(lambda: ds.refreshes == 1 or w.ctx.messages.history[-1][0] == "error", timeout=10000)
    assert ds.model.rowCount() == 3, (ds.model.rowCount(), w.ctx.messages.history[-2:])
    assert ds.refreshes == 1 and ds.selected_ids() == ["ep_000000"]
    assert not ds.model.row_by_id("ep_000002").pending
    # the statistics scan started by the open listed the folder before that episode: it stays
    qtbot.waitUntil(lambda: ds.scans >= 1, timeout=30000)
    qtbot.wait(200)
    assert ds.model.row_by_id("ep_000002") is not None and ds.model.rowCount() == 3

    w.close()
    w2 = make_window(panels=_panels(), start_station=False)
    assert w2.ctx.dataset.path == root
    assert w2.panels["train"].dataset_edit.text() == str(root)
    assert w2.panels["record"].dataset_edit.text() == str(root)
    assert w2.panels["run"].controller.recovery.dataset == root
    w2.show_panel("dataset")
    ds2 = w2.panels["dataset"]
    qtbot.waitUntil(lambda: ds2.model.rowCount() == 3, timeout=30000)


def test_a_dataset_chosen_in_the_train_panel_becomes_current(make_window, qtbot, tmp_path):
    root = write_dataset(tmp_path / "other", 1, samples=20, image=4)
    w = make_window(panels=_panels(), start_station=False)
    train = w.panels["train"]
    train.dataset_edit.setText(str(root))
    train._make_current()  # what choosing it with the folder dialog does
    assert w.ctx.dataset.path == root
    assert w.panels["record"].dataset_edit.text() == str(root)
    w.show_panel("dataset")
    qtbot.waitUntil(lambda: w.panels["dataset"].model.rowCount() == 1, timeout=30000)


def test_a_current_dataset_that_was_empty_opens_once_its_first_episode_is_kept(make_window, qtbot, tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    w = make_window(panels=_panels(), start_station=False)
    w.ctx.dataset.set(root)  # e.g. chosen for take-overs in the Run panel, still without episodes
    w.show_panel("dataset")
    ds = w.panels["dataset"]
    assert ds.root is None
    write_episode(root, 0, samples=20, image=4)
    w.ctx.bus.episode_recorded.emit(str(root), "ep_000000")
    qtbot.waitUntil(lambda: ds.root == root and ds.model.rowCount() == 1, timeout=30000)
