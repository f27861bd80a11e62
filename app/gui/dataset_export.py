"""The Dataset panel's exports: the open dataset to any registered format, one episode to a video.

The formats offered are `curation.export_formats.EXPORT_FORMATS`, the list ``demostation export
--format`` takes, and each export is the same core call the command line makes, run by a
`JobRunner` with its own workspace (the panel's catalog stays on its own thread). The video is
`curation.episode_video`, written by the PyAV code of the LeRobot export (`recorder.video`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QCheckBox, QSpinBox, QWidget

from app.gui.context import AppContext
from app.gui.export_dialog import ExportChoice, ExportDialog
from app.gui.jobs import JobRunner, describe_error
from app.gui.settings import read
from curation.export_formats import DEFAULT_CRF, EXPORT_FORMATS, ExportOptions, describe_export, export_format

ALL_CAMERAS = "all"
LAST_FORMAT_KEY = "dataset/export_format"  # the format of the last export, chosen first next time


def format_choices(dataset: Path) -> list[ExportChoice]:
    """One choice per registered export format, named after the dataset."""
    return [ExportChoice(f.name, f.label, f.target, f.suffix, f"{dataset.name}_{f.name}{f.suffix}",
                         f"read by {f.trainer}") for f in EXPORT_FORMATS.values()]


def camera_choices(eid: str, cameras: list[str]) -> list[ExportChoice]:
    """All cameras side by side first (when there are several), then each camera alone."""
    every = [ExportChoice(ALL_CAMERAS, f"all cameras side by side ({' | '.join(cameras)})", "file", ".mp4",
                          f"{eid}.mp4")] if len(cameras) > 1 else []
    return every + [ExportChoice(c, c, "file", ".mp4", f"{eid}_{c}.mp4") for c in cameras]


class DatasetExporter(QObject):
    """Asks where (an `ExportDialog`), then runs the export as a job; one export at a time.

    ``job`` reports ``progress``/``done``/``failed``/``cancelled``; the outcome also reaches the
    status bar as one line (a failure as a dialog too). ``last_summary`` is the finished export's
    report summary.
    """

    def __init__(self, ctx: AppContext, on_progress: Callable[[int, int, str], None],
                 on_finished: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.job = JobRunner("export", self)
        self.dialog: ExportDialog | None = None
        self.last_summary: dict | None = None
        self._on_progress = on_progress
        self._on_finished = on_finished

    def is_running(self) -> bool:
        return self.job.is_running()

    # -- asking ----------------------------------------------------------------------------------
    def ask_dataset(self, root: Path, parent: QWidget) -> ExportDialog:
        """Open the dataset export dialog (non-blocking); the export starts when it is accepted."""
        dialog = ExportDialog("Export dataset", root, format_choices(root), "Format",
                              f"Export {root.name} for another trainer: trims applied, deleted episodes left out, "
                              "the stored train/valid split kept. The recordings are not changed.", parent)
        crf = QSpinBox()
        crf.setRange(0, 51)
        crf.setValue(DEFAULT_CRF)
        crf.setMaximumWidth(90)
        crf.setToolTip("H.264 constant quality: 0 lossless … 51 worst (as demostation export --video-crf)")
        dialog.add_option("Video quality (CRF)", crf, {"lerobot"})
        next_obs = QCheckBox("store next_obs (robomimic's default; twice the size)")
        next_obs.setChecked(True)
        dialog.add_option("", next_obs, {"robomimic"})
        last = dialog.what_combo.findData(read(self.ctx.settings, LAST_FORMAT_KEY, ""))
        if last >= 0:
            dialog.what_combo.setCurrentIndex(last)

        def chosen(key: str, out: Path, overwrite: bool) -> None:
            self.ctx.settings.setValue(LAST_FORMAT_KEY, key)
            self.export_dataset(root, key, out, overwrite, ExportOptions(next_obs=next_obs.isChecked(),
                                                                         crf=crf.value()))

        dialog.chosen.connect(chosen)
        return self._show(dialog)

    def ask_video(self, root: Path, eid: str, cameras: list[str], parent: QWidget) -> ExportDialog:
        """Open the episode video dialog (non-blocking)."""
        dialog = ExportDialog(f"Export video of {eid}", root, camera_choices(eid, cameras), "Cameras",
                              f"An H.264 MP4 of {eid} that browsers play: trims applied, at the recording rate.",
                              parent)
        dialog.chosen.connect(lambda key, out, overwrite: self.export_video(
            root, eid, None if key == ALL_CAMERAS else [key], out, overwrite))
        return self._show(dialog)

    def _show(self, dialog: ExportDialog) -> ExportDialog:
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dialog
        dialog.finished.connect(lambda _: setattr(self, "dialog", None) if self.dialog is dialog else None)
        dialog.open()
        return dialog

    # -- running ---------------------------------------------------------------------------------
    def export_dataset(self, root: Path, fmt: str, out: Path, overwrite: bool, options: ExportOptions) -> None:
        exporter = export_format(fmt)

        def job(progress, should_stop):
            from curation.workspace import open_workspace

            progress(0, 1, "opening the dataset")
            with open_workspace(root) as ws:
                return exporter.export(ws, out, overwrite, options, progress, should_stop).summary()

        self._start(job, f"exporting to {exporter.label}")

    def export_video(self, root: Path, eid: str, cameras: list[str] | None, out: Path, overwrite: bool) -> None:
        def job(progress, should_stop):
            from curation.episode_video import export_episode_video
            from curation.workspace import open_workspace

            with open_workspace(root) as ws:
                return export_episode_video(ws, eid, out, cameras, overwrite, progress, should_stop).summary()

        self._start(job, f"exporting the video of {eid}")

    def _start(self, job, what: str) -> None:
        if self.job.is_running():
            self.ctx.messages.fail("an export is running; wait for it or cancel it")
            return
        self.last_summary = None
        self.ctx.messages.say(what + "…")
        self.job.start(job, on_done=self._done, on_exception=self._failed, on_progress=self._on_progress,
                       on_cancelled=self._cancelled)

    def cancel(self) -> None:
        self.job.cancel()

    def _done(self, summary: dict) -> None:
        self.last_summary = summary
        problems = summary.get("problems") or []
        extra = f" ({len(problems)} warning{'' if len(problems) == 1 else 's'}: {problems[0]})" if problems else ""
        self.ctx.messages.say(describe_export(summary) + extra)
        self._on_finished()

    def _failed(self, exc: BaseException) -> None:
        self.ctx.messages.alert("Export failed", describe_error(exc))
        self._on_finished()

    def _cancelled(self) -> None:
        self.ctx.messages.say("export cancelled; nothing was written")
        self._on_finished()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.job.shutdown(timeout_ms)
