"""The Dataset panel's Export… and Export video… actions, driven through their real widgets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from synthetic_dataset import write_dataset

pytestmark = pytest.mark.gui


def _panels():
    from app.gui.panels.dataset import DatasetPanel

    return [DatasetPanel]


def _open(make_window, qtbot, root):
    w = make_window(panels=_panels(), start_station=False)
    panel = w.panels["dataset"]
    panel.auto_scan = False
    panel.path_edit.setText(str(root))
    panel.open_from_field()
    qtbot.waitUntil(lambda: panel.open_seconds is not None and panel.root is not None, timeout=30000)
    return w, panel


def _dialog(qtbot, panel, button=None):
    qtbot.mouseClick(button or panel.export_button, Qt.MouseButton.LeftButton)
    dialog = panel.exporter.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _choose(dialog, key):
    i = dialog.what_combo.findData(key)
    assert i >= 0, f"{key} is not offered"
    dialog.what_combo.setCurrentIndex(i)


def _export(qtbot, panel, dialog):
    """Press Export and wait for the job's outcome; returns its summary (None if it failed)."""
    with qtbot.waitSignal(panel.exporter.job.finished, timeout=60000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert not panel.exporter.is_running()
    return panel.exporter.last_summary


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path / "ds", 3, samples=20, image=8)


def test_the_dataset_exports_to_every_format_the_command_line_offers(make_window, qtbot, dataset, tmp_path):
    import pyarrow.parquet as pq
    import zarr

    from curation.export_formats import EXPORT_FORMATS

    w, panel = _open(make_window, qtbot, dataset)
    dialog = _dialog(qtbot, panel)
    offered = [dialog.what_combo.itemData(i) for i in range(dialog.what_combo.count())]
    assert offered == list(EXPORT_FORMATS)  # the one registry, not a copy
    assert dialog.choice().key == "lerobot"  # first in the registry

    _choose(dialog, "zarr")
    assert dialog.destination() == tmp_path / "ds_zarr.zarr"  # a default next to the dataset
    s = _export(qtbot, panel, dialog)
    assert s is not None and s["format"] == "zarr"
    group = zarr.open(str(tmp_path / "ds_zarr.zarr"), mode="r")
    assert list(group["meta"]["episode_ends"][:]) == [20, 40, 60]
    assert group["data"]["action"].shape == (60, 8)
    assert "diffusion_policy replay buffer" in w.ctx.messages.history[-1][1]

    dialog = _dialog(qtbot, panel)
    _choose(dialog, "lerobot")
    assert dialog.destination() == tmp_path / "ds_lerobot"
    s = _export(qtbot, panel, dialog)
    assert s is not None and s["format"] == "lerobot"
    out = tmp_path / "ds_lerobot"
    info = json.loads((out / "meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["fps"]) == (3, 60, 10)
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pydict()
    assert episodes["length"] == [20, 20, 20]
    assert {"action", "observation.images.scene", "observation.images.wrist", "observation.state"} <= set(info["features"])
    assert len(list((out / "videos").rglob("*.mp4"))) == 2

    dialog = _dialog(qtbot, panel)
    _choose(dialog, "robomimic")
    s = _export(qtbot, panel, dialog)
    assert s["format"] == "robomimic" and s["demos"] == 3
    assert (tmp_path / "ds_robomimic.h5").is_file()
    dialog = _dialog(qtbot, panel)
    assert dialog.choice().key == "robomimic"  # the last format is offered first next time
    dialog.reject()
    assert panel.export_button.text() == "Export…" and panel.export_button.isEnabled()


def test_an_existing_destination_is_replaced_only_after_confirming(make_window, qtbot, dataset, tmp_path):
    out = tmp_path / "ds_zarr.zarr"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    w, panel = _open(make_window, qtbot, dataset)
    dialog = _dialog(qtbot, panel)
    _choose(dialog, "zarr")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    box = dialog.confirm_box
    assert box is not None and box.isVisible() and "exists" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: dialog.confirm_box is None)
    assert not panel.exporter.is_running() and panel.exporter.last_summary is None
    assert dialog.isVisible() and (out / "mine.txt").read_text() == "keep me"  # nothing touched, still asking

    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    box = dialog.confirm_box
    replace = next(b for b in box.buttons() if b.text() == "Replace")
    with qtbot.waitSignal(panel.exporter.job.finished, timeout=60000):
        replace.click()
    assert panel.exporter.last_summary["format"] == "zarr"
    assert not (out / "mine.txt").exists() and (out / "meta").is_dir()
    assert not dialog.isVisible()


def test_a_destination_inside_the_dataset_is_refused(make_window, qtbot, dataset, tmp_path):
    w, panel = _open(make_window, qtbot, dataset)
    dialog = _dialog(qtbot, panel)
    _choose(dialog, "lerobot")
    for inside in (dataset / "exports", dataset, dataset / "episodes"):
        dialog.path_edit.setText(str(inside))
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        assert "inside the dataset" in dialog.error_label.text()
        assert dialog.confirm_box is None and not panel.exporter.is_running() and dialog.isVisible()
    assert not (dataset / "exports").exists()
    assert sorted(p.name for p in (dataset / "episodes").iterdir()) == [f"ep_{i:06d}.h5" for i in range(3)]


def test_a_failed_export_says_why_in_one_line_and_leaves_nothing(make_window, qtbot, dataset, tmp_path):
    w, panel = _open(make_window, qtbot, dataset)
    panel.select_ids(["ep_000000", "ep_000001", "ep_000002"])
    panel.delete_selected()
    qtbot.waitUntil(lambda: all(r.deleted for r in panel.model.rows()), timeout=10000)
    dialog = _dialog(qtbot, panel)
    _choose(dialog, "zarr")
    assert _export(qtbot, panel, dialog) is None
    severity, text = w.ctx.messages.history[-1]
    assert severity == "error" and text.startswith("Export failed: ") and "no episodes to export" in text
    assert "\n" not in text and "Traceback" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "settings"]  # no half-written export


def test_the_shown_episode_exports_as_an_h264_video(make_window, qtbot, dataset, tmp_path):
    import av

    from recorder.video import read_frames

    w, panel = _open(make_window, qtbot, dataset)
    assert not panel.video_button.isEnabled()  # no episode shown yet
    panel.select_ids(["ep_000001"])
    qtbot.waitUntil(lambda: panel.timeline.episode is not None and panel.timeline.episode.id == "ep_000001",
                    timeout=30000)
    assert panel.video_button.isEnabled()
    dialog = _dialog(qtbot, panel, panel.video_button)
    assert [dialog.what_combo.itemData(i) for i in range(dialog.what_combo.count())] == ["all", "scene", "wrist"]
    assert dialog.destination() == tmp_path / "ep_000001.mp4"
    s = _export(qtbot, panel, dialog)
    assert s is not None and (s["frames"], s["width"], s["height"]) == (20, 16, 8)
    out = tmp_path / "ep_000001.mp4"
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    frames, times, _ = read_frames(out)
    # synthetic_dataset: the scene camera ramps red, the wrist camera green, over the episode
    assert frames.shape == (20, 8, 16, 3) and np.allclose(times, np.arange(20) / 10.0)
    assert frames[-1, :, :8, 0].mean() > 200 and frames[-1, :, 8:, 1].mean() > 200
    assert frames[-1, :, :8, 1].mean() < 60 and frames[-1, :, 8:, 0].mean() < 60

    dialog = _dialog(qtbot, panel, panel.video_button)
    _choose(dialog, "wrist")
    assert dialog.destination() == tmp_path / "ep_000001_wrist.mp4"
    assert _export(qtbot, panel, dialog)["cameras"] == ["wrist"]
    with av.open(str(tmp_path / "ep_000001_wrist.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264" and c.streams.video[0].width == 8


def test_the_window_stays_responsive_and_cancel_leaves_nothing(make_window, qtbot, dataset, tmp_path, monkeypatch):
    import time

    from PySide6.QtCore import QTimer

    from recorder import video

    real_write = video.Mp4Writer.write

    def slow_write(self, rgb):  # 20 ms a frame: the export lasts ~2 s, long enough to watch and cancel
        time.sleep(0.02)
        real_write(self, rgb)

    monkeypatch.setattr(video.Mp4Writer, "write", slow_write)
    w, panel = _open(make_window, qtbot, dataset)
    dialog = _dialog(qtbot, panel)
    _choose(dialog, "lerobot")
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert panel.exporter.is_running() and panel.export_button.text() == "Cancel export"
    assert not panel.video_button.isEnabled()
    qtbot.waitUntil(lambda: panel.progress.isVisible() and panel.progress.maximum() == 3
                    and panel.progress.value() >= 1, timeout=30000)  # one episode of three written
    with qtbot.waitSignal(panel.exporter.job.cancelled, timeout=30000):
        qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 10 and gaps.max() < 0.25, f"the GUI thread stalled {gaps.max():.2f} s during the export"
    assert w.ctx.messages.history[-1] == ("info", "export cancelled; nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "settings"]  # no folder, no temporary left
    assert panel.export_button.text() == "Export…" and not panel.progress.isVisible()
