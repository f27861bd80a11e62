"""The episode timeline: every camera's frame at the cursor, the action and proprioception traces,
detected pauses, trims and tagged ranges shaded, a scrubber, and a range selection for new range
tags and trims. The traces are `TimelinePlot`s (pyqtgraph): they zoom and pan together, their trims
and tagged ranges are dragged into place, and their cursor line follows the frame shown and moves
it when dragged.

`load_episode_view` (plain numpy + the dataset reader, no Qt) reads one episode for it; the Dataset
panel runs that in a worker, then hands the result to `TimelineView.set_episode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QSplitter, QVBoxLayout, QWidget

from app.gui import theme
from app.gui.image_view import ImageView
from app.gui.timeline_plot import Region, TimelinePlot
from curation.pauses import detect_pauses
from recorder.dataset import Episode

MAX_PRELOADED_FRAMES = 3000  # per camera; longer episodes read frames on demand

PAUSE_COLOUR = QColor(216, 162, 53, 70)
TRIM_COLOUR = QColor(140, 146, 156, 110)
RANGE_TAG_COLOUR = QColor(198, 120, 221, 45)


@dataclass
class EpisodeView:
    """What the timeline shows of one episode (read once, in a worker)."""

    id: str
    time: np.ndarray  # (T,)
    action: np.ndarray  # (T, 8) pose + gripper
    obs_pose: np.ndarray  # (T, 7)
    obs_gripper: np.ndarray  # (T, 1)
    wrench: np.ndarray | None  # (T, 6)
    rate_hz: float
    cameras: list[str]
    images: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> (T, H, W, 3) when preloaded
    pauses: list[tuple[float, float]] = field(default_factory=list)  # detected (not necessarily trimmed)
    trims: list[dict] = field(default_factory=list)  # catalog trims: start, end, status, source, id
    range_tags: list[tuple[str, float, float]] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    path: str = ""

    @property
    def duration(self) -> float:
        return len(self.time) / self.rate_hz if self.rate_hz > 0 else 0.0

    def index_at(self, t: float) -> int:
        if len(self.time) == 0:
            return 0
        return int(np.clip(np.searchsorted(self.time, t, side="right") - 1, 0, len(self.time) - 1))


class EpisodeFiles:
    """Opens one episode of a dataset by id, without scanning the whole folder first.

    The contract's `Dataset` checks every file when it is built, which for a large dataset costs
    seconds; the timeline needs one file at a time.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def open(self, episode_id: str):
        path = self.root / "episodes" / f"{episode_id}.h5"
        if not path.is_file():
            raise FileNotFoundError(f"episode {episode_id} has no file in {self.root / 'episodes'}")
        return Episode(path)


def load_episode_view(dataset, episode_id: str, trims: list[dict] | None = None,
                      range_tags: list[tuple[str, float, float]] | None = None) -> EpisodeView:
    """Read one episode's arrays (and, up to a limit, its frames) and detect its pauses."""
    with dataset.open(episode_id) as ep:
        time = np.asarray(ep.time, dtype=float)
        n = len(time)
        pose = np.asarray(ep.action_pose, dtype=float)
        gripper = np.asarray(ep.action_gripper, dtype=float).reshape(n, -1)
        obs_pose = np.asarray(ep.obs("ee_pose"), dtype=float)
        obs_gripper = np.asarray(ep.obs("gripper"), dtype=float).reshape(n, -1)
        try:
            wrench = np.asarray(ep.obs("ee_wrench"), dtype=float)
        except KeyError:
            wrench = None
        cameras = list(ep.camera_names)
        images = {c: np.asarray(ep.images(c, slice(None))) for c in cameras} if n <= MAX_PRELOADED_FRAMES else {}
        rate = float(ep.rate_hz)
        events = list(ep.events or [])
        path = str(getattr(ep, "path", ""))
    pauses = [(s.start, s.end) for s in detect_pauses(time, pose, gripper)] if n else []
    return EpisodeView(id=episode_id, time=time, action=np.concatenate([pose, gripper], axis=1), obs_pose=obs_pose,
                       obs_gripper=obs_gripper, wrench=wrench, rate_hz=rate, cameras=cameras, images=images,
                       pauses=pauses, trims=list(trims or []), range_tags=list(range_tags or []), events=events,
                       path=path)


class TimelineView(QWidget):
    """Scrub an episode. ``range_selected(start, end)`` when the user Shift-drags over a plot;
    ``trim_moved(trim id, start, end)`` and ``tag_moved(tag, old start, old end, start, end)`` when
    a trim or a tagged range has been dragged to new ends (the panel edits the catalog)."""

    range_selected = Signal(float, float)
    position_changed = Signal(float)
    trim_moved = Signal(int, float, float)
    tag_moved = Signal(str, float, float, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.episode: EpisodeView | None = None
        self.frame_reader = None  # callable(camera, index) -> image, for episodes not preloaded
        self.frames_row = QWidget()
        self._frames_layout = QHBoxLayout(self.frames_row)
        self._frames_layout.setContentsMargins(0, 0, 0, 0)
        self.views: dict[str, ImageView] = {}

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._on_slider)
        self.play_button = QPushButton("❚❚")
        self.play_button.setFixedWidth(max(40, self.play_button.minimumSizeHint().width()))  # fits either symbol
        self.play_button.setText("▶")
        self.play_button.setToolTip("Play / pause (K)")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle_play)
        self.time_label = QLabel("—")
        self.time_label.setMinimumWidth(150)
        self.time_label.setObjectName("Dim")
        scrub = QHBoxLayout()
        scrub.addWidget(self.play_button)
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.time_label)

        self.action_plot = TimelinePlot("commanded action (m · gripper)")
        self.obs_plot = TimelinePlot("proprioception (m · gripper · N/100)")
        self.obs_plot.setXLink(self.action_plot)  # zoom and pan one, both follow
        for plot in (self.action_plot, self.obs_plot):
            plot.clicked.connect(self.seek)
            plot.cursor_dragged.connect(self.seek)
            plot.selection_changed.connect(self._on_range)
            plot.region_moving.connect(self._on_region_moving)
            plot.region_moved.connect(self._on_region_moved)
        self.legend = QLabel("<span style='color:#d8a235'>■</span> detected pause &nbsp; "
                             "<span style='color:#8c929c'>■</span> trimmed &nbsp; "
                             "<span style='color:#c678dd'>■</span> tagged range &nbsp; "
                             "<span style='color:#4c9be8'>■</span> selection (Shift-drag) &nbsp;·&nbsp; "
                             "wheel: zoom · drag: pan · double-click: all · drag a trim or range to move it")
        self.legend.setObjectName("Dim")
        self.legend.setWordWrap(True)

        plots = QSplitter(Qt.Orientation.Vertical)
        plots.setChildrenCollapsible(False)
        plots.addWidget(self.action_plot)
        plots.addWidget(self.obs_plot)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        top = QWidget()
        top_col = QVBoxLayout(top)
        top_col.setContentsMargins(0, 0, 0, 0)
        top_col.addWidget(self.frames_row, 1)
        top_col.addLayout(scrub)
        self.splitter.addWidget(top)
        self.splitter.addWidget(plots)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([300, 200])  # frames : plots = 3 : 2 at any size (at 2560×1440 the frames were a strip)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.splitter, 1)
        col.addWidget(self.legend)
        self._play = QTimer(self)
        self._play.timeout.connect(self._advance)
        self.placeholder = QLabel("Select an episode to see its cameras and traces.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("Dim")
        self._frames_layout.addWidget(self.placeholder)

    # -- data ------------------------------------------------------------------------------------
    def set_episode(self, view: EpisodeView | None) -> None:
        self._play.stop()
        self.play_button.setText("▶")
        self.episode = view
        for v in self.views.values():
            v.setParent(None)
            v.deleteLater()
        self.views = {}
        self.placeholder.setVisible(view is None)
        self.action_plot.reset()
        self.obs_plot.reset()
        self.slider.setEnabled(view is not None and len(view.time) > 0)
        self.play_button.setEnabled(self.slider.isEnabled())
        if view is None:
            self.time_label.setText("—")
            return
        for cam in view.cameras:
            iv = ImageView(f"{cam} camera", min_size=120)
            self.views[cam] = iv
            self._frames_layout.addWidget(iv)
        t = view.time
        a = view.action
        names = ("x", "y", "z")
        for k in range(3):
            self.action_plot.set_series(names[k], t, a[:, k], theme.SERIES[k])
        self.action_plot.set_series("gripper", t, a[:, 7], theme.SERIES[4])
        for k in range(3):
            self.obs_plot.set_series(names[k], t, view.obs_pose[:, k], theme.SERIES[k])
        self.obs_plot.set_series("gripper", t, view.obs_gripper[:, 0], theme.SERIES[4])
        if view.wrench is not None and np.isfinite(view.wrench).any():
            self.obs_plot.set_series("|F|/100", t, np.linalg.norm(view.wrench[:, :3], axis=1) / 100.0, theme.SERIES[6])
        for plot in (self.action_plot, self.obs_plot):
            plot.set_duration(view.duration)
        self.refresh_spans()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(t) - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self._show_index(0)

    def set_curation(self, trims: list[dict], range_tags: list[tuple[str, float, float]]) -> None:
        """New trims / range tags after an edit (no re-read of the episode)."""
        if self.episode is None:
            return
        self.episode.trims = list(trims)
        self.episode.range_tags = list(range_tags)
        self.refresh_spans()

    def refresh_spans(self) -> None:
        view = self.episode
        if view is None:
            return
        regions = [Region(a, b, PAUSE_COLOUR, "pause") for a, b in view.pauses]
        regions += [Region(tr["start"], tr["end"], TRIM_COLOUR if tr["status"] == "applied" else PAUSE_COLOUR,
                           "trim" if tr["status"] == "applied" else "proposed trim",
                           ("trim", tr["id"]) if "id" in tr else None)
                    for tr in view.trims if tr["status"] in ("applied", "proposed")]
        regions += [Region(a, b, RANGE_TAG_COLOUR, tag, ("tag", i)) for i, (tag, a, b) in enumerate(view.range_tags)]
        for plot in (self.action_plot, self.obs_plot):
            plot.set_regions(regions)

    def _on_region_moving(self, key: tuple, start: float, end: float) -> None:
        for plot in (self.action_plot, self.obs_plot):
            if plot is not self.sender():
                plot.show_region(key, start, end)

    def _on_region_moved(self, key: tuple, start: float, end: float) -> None:
        """A drag ended: report it at sample resolution (the catalog stores what a tick time says)."""
        view = self.episode
        if view is None:
            return
        start, end = max(0.0, float(start)), min(view.duration, float(end))
        kind, ref = key
        if kind == "trim":
            self.trim_moved.emit(int(ref), start, end)
        elif kind == "tag" and 0 <= ref < len(view.range_tags):
            tag, a, b = view.range_tags[ref]
            self.tag_moved.emit(tag, a, b, start, end)

    # -- cursor ----------------------------------------------------------------------------------
    def seek(self, t: float) -> None:
        if self.episode is not None:
            self.slider.setValue(self.episode.index_at(t))

    def position(self) -> float:
        if self.episode is None or len(self.episode.time) == 0:
            return 0.0
        return float(self.episode.time[self.slider.value()])

    def selection(self) -> tuple[float, float] | None:
        return self.action_plot.selection()

    def clear_selection(self) -> None:
        for plot in (self.action_plot, self.obs_plot):
            plot.set_selection(None)

    def _on_range(self, a: float, b: float) -> None:
        for plot in (self.action_plot, self.obs_plot):
            plot.set_selection(a, b)
        self.range_selected.emit(a, b)

    def _on_slider(self, i: int) -> None:
        self._show_index(i)

    def _show_index(self, i: int) -> None:
        view = self.episode
        if view is None or len(view.time) == 0:
            return
        t = float(view.time[i])
        for cam, iv in self.views.items():
            frames = view.images.get(cam)
            if frames is not None and i < len(frames):
                iv.set_image(frames[i])
            elif self.frame_reader is not None:
                iv.set_image(self.frame_reader(cam, i))
        for plot in (self.action_plot, self.obs_plot):
            plot.set_cursor(t)  # the two plots share their x range, so one panning is enough
        in_pause = any(a <= t < b for a, b in view.pauses)
        trimmed = any(tr["status"] == "applied" and tr["start"] <= t < tr["end"] for tr in view.trims)
        flags = (" · trimmed" if trimmed else "") + (" · pause" if in_pause else "")
        self.time_label.setText(f"{t:6.1f} / {view.duration:.1f} s · #{i}{flags}")
        self.position_changed.emit(t)

    def is_playing(self) -> bool:
        return self._play.isActive()

    def toggle_play(self) -> None:
        if self.episode is None:
            return
        if self._play.isActive():
            self._play.stop()
            self.play_button.setText("▶")
        else:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)
            self._play.start(int(1000 / max(1.0, self.episode.rate_hz)))
            self.play_button.setText("❚❚")

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.toggle_play()
            return
        self.slider.setValue(self.slider.value() + 1)
