"""A quick replay of the episode just recorded, with Keep and Discard: the operator looks before the
episode joins the dataset. The replay is the Dataset panel's own frame viewer (`TimelineView`,
its frames, traces and scrubber), read in a worker by the same `load_episode_view`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.gui import theme
from app.gui.jobs import JobRunner, describe_error
from app.gui.timeline import EpisodeFiles, TimelineView, load_episode_view


class EpisodeReview(QWidget):
    """``show_episode(dataset, id)`` replays it from the start; ``keep`` / ``discard`` say the verdict."""

    keep = Signal(str)
    discard = Signal(str)
    loaded = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.episode_id: str | None = None
        self.job = JobRunner("replay", self)
        self.title = theme.note_label("")
        self.timeline = TimelineView()
        self.keep_button = QPushButton("✓ Keep")
        self.keep_button.setProperty("role", "primary")
        self.keep_button.setToolTip("Keep it in the dataset (Return)")
        self.discard_button = QPushButton("✕ Discard")
        self.discard_button.setProperty("role", "danger")
        self.discard_button.setToolTip("Throw it away: its file is deleted (Delete)")
        self.keep_button.clicked.connect(lambda: self.episode_id and self.keep.emit(self.episode_id))
        self.discard_button.clicked.connect(lambda: self.episode_id and self.discard.emit(self.episode_id))
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.keep_button)
        row.addWidget(self.discard_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(row)
        col.addWidget(self.timeline, 1)

    def show_episode(self, dataset: Path, episode_id: str) -> None:
        self.episode_id = episode_id
        self.title.setText(f"Replaying {episode_id}: keep it or discard it?")
        self.timeline.set_episode(None)

        def job(progress, should_stop):
            return load_episode_view(EpisodeFiles(dataset), episode_id)

        self.job.start(job, on_done=self._on_loaded,
                       on_exception=lambda exc: self.title.setText(f"{episode_id} cannot be replayed: "
                                                                   f"{describe_error(exc)} — keep or discard it"))

    def _on_loaded(self, view) -> None:
        if view.id != self.episode_id:
            return
        self.timeline.set_episode(view)
        self.title.setText(f"Replaying {view.id} · {view.duration:.1f} s: keep it or discard it?")
        self.timeline.toggle_play()  # plays once from the start; the scrubber and K work as in the Dataset panel
        self.loaded.emit(view.id)

    def stop(self) -> None:
        if self.timeline.is_playing():
            self.timeline.toggle_play()
        self.episode_id = None

    def shutdown(self) -> None:
        self.job.shutdown(5000)
