"""The episode timeline on pyqtgraph: zoom and pan in time, a cursor synced with the frame both ways,
Shift-drag selection, and trims and tagged ranges dragged into place (edits of the catalog's own
trims and tags, undoable)."""

import numpy as np
import pytest
from panel_steps import open_dataset_in_panel
from PySide6.QtCore import Qt
from synthetic_dataset import write_episode
from timeline_mouse import at, click, drag, wheel

pytestmark = pytest.mark.gui

SHIFT = Qt.KeyboardModifier.ShiftModifier


def long_view(samples: int = 6000, rate: float = 10.0):
    """A ten-minute episode (6000 samples at 10 Hz) with one camera read on demand."""
    from app.gui.timeline import EpisodeView

    t = np.arange(samples) / rate
    pose = np.zeros((samples, 7))
    pose[:, 0] = 0.1 * np.sin(t / 7.0)
    pose[:, 3] = 1.0
    action = np.concatenate([pose, (np.sin(t) > 0).astype(float)[:, None]], axis=1)
    return EpisodeView(id="ep_000000", time=t, action=action, obs_pose=pose.copy(),
                       obs_gripper=action[:, 7:].copy(), wrench=None, rate_hz=rate, cameras=["scene"],
                       pauses=[(100.0, 110.0)],
                       trims=[{"id": 7, "start": 200.0, "end": 220.0, "status": "applied", "source": "manual"}],
                       range_tags=[("recovery", 300.0, 310.0)])


@pytest.fixture
def timeline(qtbot, qapp):
    from app.gui.theme import apply_theme
    from app.gui.timeline import TimelineView

    apply_theme(qapp)
    tl = TimelineView()
    asked: list[int] = []

    def reader(camera, index):
        asked.append(index)
        return np.full((8, 8, 3), index % 256, np.uint8)

    tl.frame_reader = reader
    tl.asked = asked
    qtbot.addWidget(tl)
    tl.resize(1100, 800)
    tl.show()
    qtbot.waitExposed(tl)
    tl.set_episode(long_view())
    qapp.processEvents()
    return tl


def test_wheel_zooms_time_on_both_plots_and_drag_pans_them(timeline, qapp):
    a, o = timeline.action_plot, timeline.obs_plot
    assert a.x_range() == pytest.approx((0.0, 600.0), abs=0.5)
    wheel(a, at(a, 300.0), 10)
    lo, hi = a.x_range()
    assert hi - lo < 300.0, (lo, hi)  # zoomed in
    assert lo < 300.0 < hi  # around the point under the mouse
    assert o.x_range() == pytest.approx((lo, hi), abs=1e-6)  # the other plot follows
    width = hi - lo
    drag(a, at(a, lo + 0.6 * width), at(a, lo + 0.3 * width))  # pull the trace to the left: later times
    lo2, hi2 = a.x_range()
    assert lo2 == pytest.approx(lo + 0.3 * width, rel=0.05) and hi2 - lo2 == pytest.approx(width, rel=1e-3)
    assert timeline.selection() is None  # a plain drag pans, it does not select
    # double-click shows the whole episode again; no zooming out past it
    a.show_all()
    assert a.x_range() == pytest.approx((0.0, 600.0), abs=0.5)
    wheel(a, at(a, 300.0), -10)
    assert a.x_range()[0] >= -1e-6 and a.x_range()[1] <= 600.0 + 1e-6


def test_the_cursor_follows_the_frame_and_dragging_it_moves_the_frame(timeline, qapp):
    a, o = timeline.action_plot, timeline.obs_plot
    timeline.slider.setValue(1234)
    assert a.cursor_position() == pytest.approx(123.4) and o.cursor_position() == pytest.approx(123.4)
    assert timeline.asked[-1] == 1234
    drag(a, at(a, 123.4, 0.3), at(a, 400.0, 0.3))  # grab the cursor line, drop it at 400 s
    assert timeline.slider.value() == pytest.approx(4000, abs=15)
    assert timeline.asked[-1] == timeline.slider.value()  # the frame shown is the cursor's
    assert o.cursor_position() == pytest.approx(timeline.position())
    assert f"#{timeline.slider.value()}" in timeline.time_label.text()
    click(a, at(a, 50.0, 0.7))
    assert timeline.slider.value() == pytest.approx(500, abs=15)
    # zoomed in on the start, playing on past the view pans it along
    a.box.setXRange(0.0, 20.0, padding=0)
    timeline.slider.setValue(300)
    lo, hi = a.x_range()
    assert lo <= 30.0 <= hi and hi - lo == pytest.approx(20.0, rel=1e-3)


def test_shift_drag_selects_a_range_even_over_a_trim(timeline, qapp):
    a = timeline.action_plot
    seen = []
    timeline.range_selected.connect(lambda s, e: seen.append((s, e)))
    drag(a, at(a, 195.0), at(a, 250.0), modifiers=SHIFT)  # starts outside, crosses the trim
    assert len(seen) == 1 and seen[0] == pytest.approx((195.0, 250.0), abs=1.0)
    assert timeline.selection() == pytest.approx(seen[0])
    assert timeline.obs_plot.selection() == pytest.approx(seen[0])  # shown on both plots
    drag(a, at(a, 205.0), at(a, 215.0), modifiers=SHIFT)  # inside the trim: still a selection, not a move
    assert seen[-1] == pytest.approx((205.0, 215.0), abs=1.0)
    assert [r.start for r in a.regions() if r.key == ("trim", 7)] == [200.0]


def test_dragging_a_trim_or_a_tagged_range_reports_its_new_ends(timeline, qapp):
    a, o = timeline.action_plot, timeline.obs_plot
    trims, tags = [], []
    timeline.trim_moved.connect(lambda i, s, e: trims.append((i, s, e)))
    timeline.tag_moved.connect(lambda *args: tags.append(args))
    kinds = {(r.label, r.key) for r in a.regions()}
    assert kinds == {("pause", None), ("trim", ("trim", 7)), ("recovery", ("tag", 0))}
    drag(a, at(a, 210.0), at(a, 240.0))  # the trim's body: moved 30 s later, same length
    assert len(trims) == 1 and trims[0][0] == 7
    assert trims[0][1:] == pytest.approx((230.0, 250.0), abs=1.0)
    assert o.region_item(("trim", 7)).getRegion() == pytest.approx(trims[0][1:], abs=1e-6)  # the twin followed
    drag(a, at(a, 305.0), at(a, 280.0))
    assert len(tags) == 1 and tags[0][:3] == ("recovery", 300.0, 310.0)
    assert tags[0][3:] == pytest.approx((275.0, 285.0), abs=1.0)
    drag(a, at(a, 105.0), at(a, 130.0))  # a detected pause is not a catalog object: it stays (the view pans)
    assert len(trims) == 1 and len(tags) == 1
    assert [(r.start, r.end) for r in a.regions() if r.label == "pause"] == [(100.0, 110.0)]


def test_a_trim_cannot_be_dragged_past_the_episode(timeline, qapp):
    a = timeline.action_plot
    a.box.setXRange(180.0, 260.0, padding=0)
    got = []
    timeline.trim_moved.connect(lambda i, s, e: got.append((s, e)))
    a.region_item(("trim", 7)).setRegion((590.0, 610.0))  # bounds hold it inside [0, 600]
    assert a.region_item(("trim", 7)).getRegion()[1] <= 600.0 + 1e-6


def test_region_drags_edit_the_catalog_and_undo_takes_them_back(make_window, qtbot, tmp_path):
    from app.gui.panels.dataset import DatasetPanel
    from curation.catalog import Catalog

    root = tmp_path / "ds"
    write_episode(root, 0, samples=100)
    w = make_window(panels=[DatasetPanel], start_station=False)
    w.resize(1600, 1000)
    panel = open_dataset_in_panel(w, qtbot, root)
    panel.auto_scan = False
    panel.select_ids(["ep_000000"])
    tl = panel.timeline
    qtbot.waitUntil(lambda: tl.episode is not None and tl.episode.id == "ep_000000", timeout=10000)
    w.show_panel("dataset")
    qtbot.waitExposed(panel)
    a = tl.action_plot
    # Shift-drag, then Trim range and Tag range: both come from the same selection
    drag(a, at(a, 2.0), at(a, 3.0), modifiers=SHIFT)
    assert tl.selection() == pytest.approx((2.0, 3.0), abs=0.15)
    panel.trim_range()
    qtbot.waitUntil(lambda: any(t["status"] == "applied" for t in tl.episode.trims), timeout=10000)
    (trim,) = tl.episode.trims
    assert trim["source"] == "manual" and trim["end_index"] - trim["start_index"] == pytest.approx(10, abs=2)
    tl._on_range(6.0, 7.0)
    panel.tag_edit.setText("recovery")
    panel.tag_range()
    qtbot.waitUntil(lambda: ("recovery", 6.0, 7.0) in tl.episode.range_tags, timeout=10000)

    # drag the trim 3 s later: the catalog's trim has new ends and sample indices
    mid = (trim["start"] + trim["end"]) / 2
    drag(a, at(a, mid), at(a, mid + 3.0))
    qtbot.waitUntil(lambda: tl.episode.trims[0]["start"] > trim["start"] + 2.5, timeout=10000)
    moved = tl.episode.trims[0]
    assert moved["id"] == trim["id"] and moved["end"] - moved["start"] == pytest.approx(trim["end"] - trim["start"])
    assert moved["start_index"] == int(np.searchsorted(tl.episode.time, moved["start"] - 1e-6))
    # drag the tagged range 2 s earlier
    drag(a, at(a, 6.5), at(a, 4.5))
    qtbot.waitUntil(lambda: tl.episode.range_tags and tl.episode.range_tags[0][1] < 5.0, timeout=10000)
    tag, s, e = tl.episode.range_tags[0]
    assert tag == "recovery" and (s, e) == pytest.approx((4.0, 5.0), abs=0.15)

    def catalog_state():
        with Catalog.open(root) as cat:
            return ([(t.start, t.end) for t in cat.trims("ep_000000")],
                    [(t.tag, t.start, t.end) for t in cat.tags("ep_000000")])

    assert catalog_state() == ([(moved["start"], moved["end"])], [("recovery", s, e)])
    panel.undo()
    qtbot.waitUntil(lambda: ("recovery", 6.0, 7.0) in tl.episode.range_tags, timeout=10000)
    panel.undo()
    qtbot.waitUntil(lambda: tl.episode.trims[0]["start"] == trim["start"], timeout=10000)
    assert catalog_state() == ([(trim["start"], trim["end"])], [("recovery", 6.0, 7.0)])


def test_a_refused_move_puts_the_region_back(make_window, qtbot, tmp_path):
    from app.gui.panels.dataset import DatasetPanel

    root = tmp_path / "ds"
    write_episode(root, 0, samples=60)
    w = make_window(panels=[DatasetPanel], start_station=False)
    panel = open_dataset_in_panel(w, qtbot, root)
    panel.select_ids(["ep_000000"])
    tl = panel.timeline
    qtbot.waitUntil(lambda: tl.episode is not None, timeout=10000)
    tl._on_range(1.0, 2.0)
    panel.tag_edit.setText("recovery")
    panel.tag_range()
    qtbot.waitUntil(lambda: tl.episode.range_tags == [("recovery", 1.0, 2.0)], timeout=10000)
    item = tl.action_plot.region_item(("tag", 0))
    item.setRegion((3.0, 3.0))  # an empty range: the catalog refuses it
    item.sigRegionChangeFinished.emit(item)
    qtbot.waitUntil(lambda: any(s == "error" for s, _ in w.ctx.messages.history), timeout=10000)
    assert "bad range" in w.ctx.messages.history[-1][1]
    qtbot.waitUntil(lambda: tl.action_plot.region_item(("tag", 0)).getRegion() == pytest.approx((1.0, 2.0)),
                    timeout=10000)
