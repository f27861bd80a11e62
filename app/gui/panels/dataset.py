"""Dataset panel: the episode table, the timeline scrubber and every curation edit.

The catalog (SQLite, bound to the thread that opens it) lives on one `SerialWorker` thread for the
whole session: opening, listing and every edit (outcome, tag, trim, delete, restore, undo) run
there and come back as rows for the table. Reading an episode for the timeline, the dataset
statistics and pause detection over many episodes are `JobRunner` jobs with their own workspace.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.context import AppContext
from app.gui.current_dataset import same_folder
from app.gui.dataset_export import DatasetExporter
from app.gui.episode_table import EpisodeFilterProxy, EpisodeTableModel, quick_open, rows_from_catalog, summarise
from app.gui.jobs import JobRunner, SerialWorker, describe_error
from app.gui.panels.base import Panel
from app.gui.timeline import EpisodeFiles, TimelineView, load_episode_view
from curation.events import trim_logged_events
from curation.source import open_dataset
from curation.stats import dataset_stats
from curation.trims import detect_dataset_pauses
from curation.workspace import import_facts, open_workspace, samples_in, scan_files


def _episode_curation(catalog, eid: str) -> tuple[list[dict], list[tuple[str, float, float]]]:
    trims = [t.as_dict() for t in catalog.trims(eid)]
    tags = [(t.tag, float(t.start), float(t.end)) for t in catalog.tags(eid) if t.start is not None]
    return trims, tags


EXPORT_TIP = ("Export the dataset for another trainer (LeRobot, Diffusion Policy's Zarr, robomimic), as "
              "demostation export does: trims applied, deleted episodes left out")

# Files whose facts one catalog-thread call imports (~2 ms each): a curation edit waits at most this.
IMPORT_BATCH = 50


class DatasetPanel(Panel):
    # (open generation, pause fractions of a few episodes), emitted from the statistics job's thread.
    pause_fractions_ready = Signal(object)

    key = "dataset"
    title = "Dataset"
    icon_name = "dataset"
    hint = "Curate: review each episode, set outcomes, tag, trim pauses, delete and undo. The raw recordings are never changed."

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.catalog_thread = SerialWorker("catalog", self)
        self.episode_job = JobRunner("episode", self)
        self.stats_job = JobRunner("statistics", self)
        self.pause_job = JobRunner("pause detection", self)
        self.exporter = DatasetExporter(ctx, self._job_progress, self._export_finished, self)
        self.catalog = None  # a curation Catalog, used only on catalog_thread
        self.scans = 0  # background scans completed (tests wait on it)
        self.auto_scan = True  # scan files and compute statistics after each open
        self._rescan = False
        self._tried: Path | None = None  # the current dataset last tried at a look at the panel
        self.refreshes = 0  # listings of newly kept episodes completed (tests wait on it)
        self._listed_since_scan: set[str] = set()  # ids `refresh_listing` added after the running scan listed the files
        self.root: Path | None = None
        self.open_seconds: float | None = None  # how long the last open took (request → every row filled)
        self.rows_seconds: float | None = None  # request → every episode listed (new files' rows pending)
        self._generation = 0  # counts opens: the batches of an open that was superseded stop
        self._dataset = None  # the open dataset's reader, used on catalog_thread
        self._import_problems: list[str] = []
        self.current_id: str | None = None
        self._pending_episode: str | None = None
        self._stats_summary: dict | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        self.build_header(layout)
        layout.addLayout(self._open_bar())

        self.model = EpisodeTableModel(self)
        self.proxy = EpisodeFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        left = self._table_side()
        right = QTabWidget()
        right.addTab(self._episode_tab(), "Episode")
        right.addTab(self._stats_tab(), "Statistics")
        self.tabs = right
        split = self.remember_splitter("main", QSplitter(Qt.Orientation.Horizontal))
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 640])
        layout.addWidget(split, 1)
        self.remember_splitter("timeline", self.timeline.splitter)

        for keys, fn in (("Ctrl+Z", self.undo), ("Delete", self.delete_selected), ("Ctrl+Shift+Z", self.undo)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        play = QShortcut(QKeySequence("K"), self)
        play.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        play.activated.connect(self.timeline.toggle_play)
        ctx.bus.episode_recorded.connect(self._on_episode_recorded)
        ctx.dataset.changed.connect(self._on_current_changed)
        self.pause_fractions_ready.connect(self._on_pause_fractions)
        self.exporter.job.started.connect(self._export_started)
        self._set_enabled(False)
        self.path_edit.setText(ctx.dataset.text())

    # -- building --------------------------------------------------------------------------------
    def _open_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("dataset folder")
        self.path_edit.textChanged.connect(self.path_edit.setToolTip)  # a long path whole, on hover
        self.path_edit.returnPressed.connect(self.open_from_field)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.open_button = QPushButton("Open")
        self.open_button.setProperty("role", "primary")
        self.open_button.clicked.connect(self.open_from_field)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Rescan the folder for new episodes")
        self.reload_button.clicked.connect(lambda: self.root and self.open_dataset(self.root))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(EXPORT_TIP)
        self.export_button.clicked.connect(self.export_clicked)
        self.summary_label = theme.note_label("no dataset open")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(200)  # room for "exporting ep_000123" beside the summary
        self.progress.setVisible(False)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        row.addWidget(self.open_button)
        row.addWidget(self.reload_button)
        row.addWidget(self.export_button)
        row.addSpacing(12)
        row.addWidget(self.summary_label)
        row.addWidget(self.progress)
        return row

    def _table_side(self) -> QWidget:
        side = QWidget()
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 0, 0)
        filt = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("filter: id, tag, outcome, device…")
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.deleted_check = QCheckBox("Show deleted")
        self.deleted_check.toggled.connect(self.proxy.set_show_deleted)
        filt.addWidget(self.filter_edit, 1)
        filt.addWidget(self.deleted_check)
        col.addLayout(filt)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Size columns from the rows on screen only: measuring all of them asked for every cell of
        # a 500-row table (200 000 `data` calls) each time a batch of rows was filled in.
        header.setResizeContentsPrecision(0)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)  # tags: wide enough to read
        header.setStretchLastSection(False)
        self.table.setColumnWidth(2, 130)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        col.addWidget(self.table, 1)
        col.addWidget(self._edit_box())
        return side

    def _edit_box(self) -> QGroupBox:
        box = QGroupBox("Curate selected episodes")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(6)
        self.success_button = QPushButton("✓ Success")
        self.failure_button = QPushButton("✗ Failure")
        self.unknown_button = QPushButton("? Unknown")
        self.success_button.clicked.connect(lambda: self.set_outcome("success"))
        self.failure_button.clicked.connect(lambda: self.set_outcome("failure"))
        self.unknown_button.clicked.connect(lambda: self.set_outcome("unknown"))
        grid.addWidget(QLabel("Outcome"), 0, 0)
        grid.addWidget(self.success_button, 0, 1)
        grid.addWidget(self.failure_button, 0, 2)
        grid.addWidget(self.unknown_button, 0, 3)
        self.tag_edit = QLineEdit()
        self.tag_edit.setPlaceholderText("tag, e.g. recovery")
        self.tag_edit.returnPressed.connect(self.tag_selected)
        self.tag_button = QPushButton("Tag")
        self.tag_button.setToolTip("Tag the selected episodes")
        self.tag_button.clicked.connect(self.tag_selected)
        self.tag_range_button = QPushButton("Tag range")
        self.tag_range_button.setToolTip("Tag the time range selected on the timeline (Shift-drag on a plot)")
        self.tag_range_button.clicked.connect(self.tag_range)
        grid.addWidget(QLabel("Tag"), 1, 0)
        grid.addWidget(self.tag_edit, 1, 1)
        grid.addWidget(self.tag_button, 1, 2)
        grid.addWidget(self.tag_range_button, 1, 3)
        self.detect_button = QPushButton("Detect pauses")
        self.detect_button.setToolTip("Find idle pauses in the selected episodes (all, if none is selected) and "
                                      "propose trims")
        self.detect_button.clicked.connect(self.detect_pauses)
        self.mistakes_button = QPushButton("Find mistakes")
        self.mistakes_button.setToolTip("Propose trims over the mistakes logged while recording (a scripted "
                                        "expert's missed grasps) in the selected episodes (all, if none is "
                                        "selected); the recovery after each stays, so a policy learns to recover "
                                        "without learning to miss")
        self.mistakes_button.clicked.connect(self.find_mistakes)
        self.apply_button = QPushButton("Apply trims")
        self.apply_button.setToolTip("Apply the proposed trims (pauses, mistakes) of the selected episodes")
        self.apply_button.clicked.connect(self.apply_trims)
        self.trim_range_button = QPushButton("Trim range")
        self.trim_range_button.setToolTip("Trim the time range selected on the timeline")
        self.trim_range_button.clicked.connect(self.trim_range)
        grid.addWidget(QLabel("Trim"), 2, 0)
        grid.addWidget(self.detect_button, 2, 1)
        grid.addWidget(self.mistakes_button, 2, 2)
        grid.addWidget(self.apply_button, 2, 3)
        grid.addWidget(self.trim_range_button, 3, 1)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setProperty("role", "danger")
        self.delete_button.setToolTip("Leave the selected episodes out of training and statistics (Delete); "
                                      "the files stay")
        self.delete_button.clicked.connect(self.delete_selected)
        self.restore_button = QPushButton("Restore")
        self.restore_button.clicked.connect(self.restore_selected)
        self.undo_button = QPushButton("↶ Undo")
        self.undo_button.setToolTip("Take back the last curation edit (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        grid.addWidget(self.delete_button, 4, 1)
        grid.addWidget(self.restore_button, 4, 2)
        grid.addWidget(self.undo_button, 4, 3)
        self.edit_buttons = [self.success_button, self.failure_button, self.unknown_button, self.tag_button,
                             self.tag_range_button, self.detect_button, self.mistakes_button, self.apply_button,
                             self.trim_range_button,
                             self.delete_button, self.restore_button, self.undo_button]
        return box

    def _episode_tab(self) -> QWidget:
        w = QWidget()
        col = QVBoxLayout(w)
        col.setContentsMargins(8, 8, 8, 8)
        head = QHBoxLayout()
        self.episode_title = theme.note_label("")
        self.video_button = QPushButton("Export video…")
        self.video_button.setToolTip("Save the shown episode's cameras as an H.264 MP4 that browsers play")
        self.video_button.setEnabled(False)
        self.video_button.clicked.connect(self.export_video)
        head.addWidget(self.episode_title, 1)
        head.addWidget(self.video_button)
        col.addLayout(head)
        self.timeline = TimelineView()
        self.timeline.range_selected.connect(self._on_range_selected)
        self.timeline.trim_moved.connect(self.move_trim)
        self.timeline.tag_moved.connect(self.move_tag)
        col.addWidget(self.timeline, 1)
        return w

    def _stats_tab(self) -> QWidget:
        w = QWidget()
        col = QVBoxLayout(w)
        col.setContentsMargins(8, 8, 8, 8)
        self.stats_view = QTextBrowser()
        self.stats_view.setOpenLinks(False)
        self.stats_view.setHtml("<p style='color:#8a93a0'>Statistics appear when a dataset is open.</p>")
        col.addWidget(self.stats_view)
        return w

    # -- opening ---------------------------------------------------------------------------------
    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open dataset", self.path_edit.text() or str(Path.home()))
        if path:
            self.path_edit.setText(path)
            self.open_from_field()

    def open_from_field(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            self.ctx.messages.fail("give the dataset folder to open")
            return
        self.open_dataset(Path(text).expanduser())

    def open_dataset(self, root: Path) -> None:
        """List every episode at once; read the new files' facts in batches; statistics behind.

        Rows of files the catalog knows (size and time unchanged) come from its cached facts and
        the other files are listed by name as pending rows: no episode file is opened before the
        table is shown. The pending rows' facts (a few attributes per file) are then imported on
        the catalog thread in batches of `IMPORT_BATCH`, each batch filling its rows, so curation
        edits queued meanwhile wait at most one batch. Once every row is filled (`open_seconds`),
        a background job computes the pause fractions (column filled as they come) and statistics.
        """
        t0 = time.perf_counter()
        self._generation += 1
        generation = self._generation
        self.open_seconds = None
        self.rows_seconds = None
        self.summary_label.setText(f"opening {root}…")
        self.open_button.setEnabled(False)
        if self.stats_job.is_running():
            self.stats_job.cancel()

        def work():
            listing = quick_open(root)
            if self.catalog is not None:
                self.catalog.close()
            self.catalog = listing.catalog
            self._dataset = listing.dataset
            return listing.rows, listing.unseen

        def done(result) -> None:
            rows, unseen = result
            self.root = Path(root)
            self.model.set_rows(rows)
            self.rows_seconds = time.perf_counter() - t0
            self.open_button.setEnabled(True)
            self._set_enabled(True)
            self.ctx.dataset.set(root)  # the window's current dataset from now on (and after a restart)
            self.current_id = None
            self.timeline.set_episode(None)
            self._show_summary()
            if unseen:
                self.ctx.messages.say(f"listed {len(rows)} episodes · reading {len(unseen)} new or changed files…")
            self._import_batches(generation, list(unseen.items()), len(unseen), t0)

        def failed(exc: BaseException) -> None:
            self.open_button.setEnabled(True)
            self.summary_label.setText("no dataset open")
            self.ctx.messages.alert("Open dataset", describe_error(exc))

        self.catalog_thread.submit(work, done, failed)

    def _import_batches(self, generation: int, todo: list, total: int, t0: float) -> None:
        """Import the next batch of new files' facts, fill their rows, and go on (or finish the open)."""
        if generation != self._generation:
            return  # another open (or reload) took over
        if not todo:
            if not self.proxy.dynamicSortFilter():
                self.proxy.setDynamicSortFilter(True)  # one sort and filter pass over the filled rows
            self._opened(t0, total)
            return
        # Re-sorting after every batch asked for each row's sort key thousands of times; the pending
        # rows are listed in id order, so the table only needs sorting once they are all filled.
        self.proxy.setDynamicSortFilter(False)
        batch, rest = dict(todo[:IMPORT_BATCH]), todo[IMPORT_BATCH:]
        self._job_progress(total - len(todo), total, "reading new files")

        def work():
            readable, problems = import_facts(self._dataset, self.catalog, batch)
            return rows_from_catalog(self.catalog, readable), problems

        def done(result) -> None:
            rows, problems = result
            if generation != self._generation:
                return
            self.model.update_rows(rows)
            self.model.remove_rows([eid for eid in batch if eid not in {r.id for r in rows}])
            self._import_problems.extend(problems)
            self._import_batches(generation, rest, total, t0)

        def failed(exc: BaseException) -> None:  # the catalog itself failed (disk full, locked): stop here
            self.proxy.setDynamicSortFilter(True)
            self.progress.setVisible(False)
            self.ctx.messages.fail(f"reading new files: {describe_error(exc)}")

        self.catalog_thread.submit(work, done, failed)

    def _opened(self, t0: float, imported: int) -> None:
        """Every row is listed with its facts: say so, then start the statistics."""
        self.progress.setVisible(False)
        self.open_seconds = time.perf_counter() - t0
        self._show_summary()
        msg = f"opened {self.root.name if self.root else ''}: {self.model.rowCount()} episodes in {self.open_seconds:.2f} s"
        if imported:
            msg += f" ({imported} files read for the first time)"
        if self._import_problems:
            msg += f" · {len(self._import_problems)} unreadable file(s), see Statistics"
            self._import_problems.clear()
        self.ctx.messages.say(msg)
        if self.auto_scan:
            self.scan_and_compute()

    def _on_episode_recorded(self, dataset: str, episode_id: str) -> None:
        """A new episode of the open dataset: list it now, as it is kept.

        Only the folder is listed again and the new file's facts read (`refresh_listing`); the
        statistics and pause scan, which read every episode, wait for the next open or Reload,
        since the operator is probably recording the next episode right now.
        """
        if same_folder(dataset, self.root):
            self.refresh_listing()
        elif same_folder(dataset, self.ctx.dataset.path):
            # the current dataset had no episodes when it was last looked at: it has one now
            self._tried = None
            if self.isVisible():
                self.on_shown()

    def _on_current_changed(self, path: str) -> None:
        """Another panel made a dataset current: show it here (now if the panel is in view)."""
        if same_folder(path, self.root):
            return
        self.path_edit.setText(path)
        self._tried = None
        if self.isVisible():
            self.on_shown()

    def refresh_listing(self) -> None:
        """Add the episodes kept since the dataset was listed, keeping the selection and the timeline."""
        if self.root is None or self.catalog is None:
            return
        root, generation = self.root, self._generation
        listed = {r.id for r in self.model.rows()}

        def work():
            dataset = open_dataset(root)  # a reader lists the folder once: a fresh one sees the new files
            scan = scan_files(dataset, self.catalog)
            readable, problems = import_facts(dataset, self.catalog, scan.unseen)
            self._dataset = dataset
            # The statistics job's own scan may have put a new file in the catalog first: it is
            # "known" then, and still needs its row here.
            new = [eid for eid in scan.known if eid not in listed] + readable
            return rows_from_catalog(self.catalog, new), problems

        def done(result) -> None:
            rows, problems = result
            if generation != self._generation:
                return  # another dataset was opened meanwhile
            self.model.update_rows(rows)
            self._listed_since_scan.update(r.id for r in rows)
            self._show_summary()
            self.refreshes += 1
            if problems:
                self.ctx.messages.fail(f"{len(problems)} new file(s) unreadable: {problems[0]}")

        def failed(exc: BaseException) -> None:
            self.ctx.messages.fail(f"listing the new episodes: {describe_error(exc)}")

        self.catalog_thread.submit(work, done, failed)

    def on_shown(self) -> None:
        """A look at the panel opens the window's current dataset if it is not the one listed."""
        want = self.ctx.dataset.path
        if want is None or same_folder(want, self.root) or same_folder(want, self._tried):
            return
        self._tried = want  # a folder that cannot be opened is not tried again at every look
        if (want / "episodes").is_dir():
            self.path_edit.setText(str(want))
            self.open_dataset(want)

    # -- selection & timeline --------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        rows = sorted({self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.row(r).id for r in rows]

    def select_ids(self, ids: list[str]) -> None:
        sel = self.table.selectionModel()
        sel.clearSelection()
        for i in range(self.proxy.rowCount()):
            src = self.proxy.mapToSource(self.proxy.index(i, 0))
            if self.model.row(src.row()).id in ids:
                sel.select(self.proxy.index(i, 0), QItemSelectionModel.SelectionFlag.Select |
                           QItemSelectionModel.SelectionFlag.Rows)

    def _selection_changed(self) -> None:
        ids = self.selected_ids()
        self.restore_button.setEnabled(any(self.model.row_by_id(i).deleted for i in ids))
        if len(ids) == 1 and ids[0] != self.current_id:
            self.load_episode(ids[0])

    def load_episode(self, eid: str) -> None:
        if self.episode_job.is_running():
            self._pending_episode = eid
            return
        self.current_id = eid
        self.episode_title.setText(f"loading {eid}…")
        root = self.root

        def fetch_curation():
            return _episode_curation(self.catalog, eid)

        def start_loading(result) -> None:
            trims, tags = result

            def job(progress, should_stop):
                return load_episode_view(EpisodeFiles(root), eid, trims, tags)

            self.episode_job.start(job, on_done=self._on_episode_loaded,
                                   on_exception=lambda exc: self._on_episode_failed(eid, exc))

        if root is not None:
            self.catalog_thread.submit(fetch_curation, start_loading,
                                       lambda exc: self._on_episode_failed(eid, exc))

    def _on_episode_loaded(self, view) -> None:
        pending, self._pending_episode = self._pending_episode, None
        if pending is not None and pending != view.id:
            self.load_episode(pending)
            return
        self.timeline.set_episode(view)
        self.video_button.setEnabled(bool(view.cameras))
        row = self.model.row_by_id(view.id)
        n = len(view.pauses)
        detail = f"{view.id} · {view.duration:.1f} s · {n} pause{'' if n == 1 else 's'} detected"
        if row is not None:
            detail += f" · {row.outcome} · {row.device}"
        self.episode_title.setText(detail)

    def _on_episode_failed(self, eid: str, exc: BaseException) -> None:
        self._pending_episode = None
        self.episode_title.setText(f"{eid}: cannot be shown")
        self.ctx.messages.fail(f"{eid}: {describe_error(exc)}")

    def _on_range_selected(self, a: float, b: float) -> None:
        self.ctx.messages.say(f"selected {a:.1f}–{b:.1f} s: Tag range or Trim range acts on it")

    # -- edits -----------------------------------------------------------------------------------
    def _edit(self, description: str, ids: list[str], fn: Callable, refresh_all: bool = False,
              on_fail: Callable[[], None] | None = None) -> None:
        """Run a catalog edit on the catalog thread, then refresh the touched rows (and timeline)."""
        if self.catalog is None:
            self.ctx.messages.fail("open a dataset first")
            return
        if not ids and not refresh_all:
            self.ctx.messages.fail("select one or more episodes first")
            return
        current = self.current_id

        def work():
            catalog = self.catalog
            result = fn(catalog)
            rows = rows_from_catalog(catalog, None if refresh_all else ids)
            cur = _episode_curation(catalog, current) if current else None
            return result, rows, cur

        def done(out) -> None:
            result, rows, cur = out
            self.model.update_rows(rows)
            self.proxy.invalidate()
            if cur is not None:
                self.timeline.set_curation(*cur)
            self._show_summary()
            self.ctx.messages.say(description if not isinstance(result, str) else result)

        def failed(exc: BaseException) -> None:
            self.ctx.messages.fail(describe_error(exc))
            if on_fail is not None:
                on_fail()

        self.catalog_thread.submit(work, done, failed)

    def set_outcome(self, outcome: str) -> None:
        ids = self.selected_ids()
        self._edit(f"{len(ids)} episode(s) marked {outcome}", ids,
                   lambda cat: [cat.set_outcome(i, outcome) for i in ids])

    def tag_selected(self) -> None:
        tag = self.tag_edit.text().strip()
        if not tag:
            self.ctx.messages.fail("type a tag first")
            return
        ids = self.selected_ids()
        self._edit(f"tagged {len(ids)} episode(s) {tag!r}", ids, lambda cat: [cat.add_tag(i, tag) for i in ids])

    def tag_range(self) -> None:
        tag = self.tag_edit.text().strip()
        sel = self.timeline.selection()
        if not tag or sel is None or self.current_id is None:
            self.ctx.messages.fail("select a range on the timeline (Shift-drag) and type a tag")
            return
        eid, (a, b) = self.current_id, self._clamp(sel)
        self._edit(f"tagged {eid} {a:.1f}–{b:.1f} s {tag!r}", [eid], lambda cat: cat.add_tag(eid, tag, a, b))
        self.timeline.clear_selection()

    def trim_range(self) -> None:
        sel = self.timeline.selection()
        if sel is None or self.current_id is None:
            self.ctx.messages.fail("select a range on the timeline first (Shift-drag on a plot)")
            return
        eid, (a, b) = self.current_id, self._clamp(sel)
        i, j = samples_in(self.timeline.episode.time, a, b)
        self._edit(f"trimmed {eid} {a:.1f}–{b:.1f} s", [eid], lambda cat: cat.add_trim(eid, a, b, i, j))
        self.timeline.clear_selection()

    def move_trim(self, trim_id: int, start: float, end: float) -> None:
        """A trim dragged on the timeline: the catalog's trim gets the new ends (one undoable edit)."""
        view = self.timeline.episode
        if view is None or self.current_id != view.id:
            return
        eid = view.id
        i, j = samples_in(view.time, start, end)
        self._edit(f"moved a trim of {eid} to {start:.1f}–{end:.1f} s (Undo takes it back)", [eid],
                   lambda cat: cat.move_trim(trim_id, start, end, i, j), on_fail=self._reload_curation)

    def move_tag(self, tag: str, old_start: float, old_end: float, start: float, end: float) -> None:
        """A tagged range dragged on the timeline: that catalog tag gets the new ends (one undoable edit)."""
        view = self.timeline.episode
        if view is None or self.current_id != view.id:
            return
        eid = view.id

        def move(cat) -> None:
            match = [t for t in cat.tags(eid) if t.tag == tag and t.start is not None
                     and abs(t.start - old_start) < 1e-9 and abs(t.end - old_end) < 1e-9]
            if not match:
                raise ValueError(f"{eid} has no range {tag!r} at {old_start:g}–{old_end:g} s any more")
            cat.move_tag(match[0].id, start, end)

        self._edit(f"moved {tag!r} of {eid} to {start:.1f}–{end:.1f} s (Undo takes it back)", [eid], move,
                   on_fail=self._reload_curation)

    def _reload_curation(self) -> None:
        """Put the timeline's regions back where the catalog has them (after a refused move)."""
        eid = self.current_id
        if eid is None or self.catalog is None:
            return
        self.catalog_thread.submit(lambda: _episode_curation(self.catalog, eid),
                                   lambda cur: self.current_id == eid and self.timeline.set_curation(*cur),
                                   lambda exc: self.ctx.messages.fail(describe_error(exc)))

    def _clamp(self, sel: tuple[float, float]) -> tuple[float, float]:
        view = self.timeline.episode
        hi = view.duration if view is not None else sel[1]
        return max(0.0, sel[0]), min(hi, sel[1])

    def apply_trims(self) -> None:
        ids = self.selected_ids()

        def apply(cat) -> str:
            n = sum(cat.apply_proposed(i) for i in ids)
            return f"applied {n} proposed trim(s) in {len(ids)} episode(s)" if n else \
                "no proposed trims to apply: run Detect pauses or Find mistakes first"

        self._edit("", ids, apply)

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        self._edit(f"deleted {len(ids)} episode(s) (Undo or Restore brings them back)", ids,
                   lambda cat: [cat.delete_episode(i) for i in ids])

    def restore_selected(self) -> None:
        ids = self.selected_ids()
        self._edit(f"restored {len(ids)} episode(s)", ids, lambda cat: [cat.restore_episode(i) for i in ids])

    def undo(self) -> None:
        def undo(cat) -> str:
            rec = cat.undo()
            return "nothing to undo" if rec is None else f"undid: {rec.description}"

        self._edit("", [], undo, refresh_all=True)

    # -- background jobs -------------------------------------------------------------------------
    def _job_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(message[:40] if message else "%p%")

    def scan_and_compute(self) -> None:
        """Background: scan the files (syncing the catalog), then the statistics of every episode."""
        if self.root is None:
            return
        if self.stats_job.is_running():
            self._rescan = True
            self.stats_job.cancel()
            return
        root = self.root

        batch: dict[str, float] = {}
        last = [time.monotonic()]
        generation = self._generation

        def on_episode(figures) -> None:  # on the job's thread: hand the pause fractions over in batches
            batch[figures.id] = figures.pause_fraction
            if time.monotonic() - last[0] > 0.25:
                last[0] = time.monotonic()
                self.pause_fractions_ready.emit((generation, dict(batch)))
                batch.clear()

        def job(progress, should_stop):
            progress(0, 1, "checking files")
            with open_workspace(root) as ws:
                readable = list(ws.readable)
                progress(0, max(1, len(readable)), "statistics")
                return readable, dataset_stats(ws, progress=progress, should_stop=should_stop, on_episode=on_episode)

        def finished() -> None:
            if self._rescan:
                self._rescan = False
                self.scan_and_compute()

        self._rescan = False
        self._listed_since_scan = set()
        self.stats_job.start(job, on_done=self._on_scanned, on_progress=self._job_progress,
                             on_exception=lambda exc: (self.progress.setVisible(False),
                                                       self.ctx.messages.fail(f"statistics: {describe_error(exc)}")),
                             on_cancelled=lambda: self.progress.setVisible(False))
        self.stats_job.finished.connect(finished, Qt.ConnectionType.SingleShotConnection)

    def _on_pause_fractions(self, payload: tuple[int, dict[str, float]]) -> None:
        generation, fractions = payload
        if generation == self._generation:  # not a job over a dataset opened before this one
            self.model.set_pause_fractions(fractions)

    def _on_scanned(self, result) -> None:
        readable, stats = result
        self.progress.setVisible(False)

        def rows():
            return rows_from_catalog(self.catalog, readable)

        def done(new_rows) -> None:
            # Episodes kept while the scan ran are not in its listing: they stay listed.
            scanned = {r.id for r in new_rows}
            new_rows = new_rows + [r for r in self.model.rows() if r.id in self._listed_since_scan and r.id not in scanned]
            self.model.set_rows(new_rows) if len(new_rows) != self.model.rowCount() else self.model.update_rows(new_rows)
            self.model.set_pause_fractions({e.id: e.pause_fraction for e in stats.episodes})
            self._stats_summary = stats.summary()
            self._show_summary()
            self._show_stats(self._stats_summary, stats.problems)
            self.scans += 1

        self.catalog_thread.submit(rows, done, lambda exc: self.ctx.messages.fail(describe_error(exc)))

    def detect_pauses(self) -> None:
        def find(ws, ids, progress, should_stop) -> str:
            s = detect_dataset_pauses(ws, episode_ids=ids, progress=progress, should_stop=should_stop).summary()
            return (f"{s['pauses']} pauses ({s['pause_seconds']:.1f} s) proposed as trims in {s['episodes']} "
                    "episodes — review them on the timeline, then Apply trims")

        self._propose_trims("Pause detection", find)

    def find_mistakes(self) -> None:
        def find(ws, ids, progress, should_stop) -> str:
            r = trim_logged_events(ws, episode_ids=ids)
            n = r["found"]
            return (f"{n} logged mistake{'' if n == 1 else 's'} proposed as trims in {r['episodes']} episode"
                    f"{'' if r['episodes'] == 1 else 's'} (the recovery after each stays) — review them on the "
                    "timeline, then Apply trims")

        self._propose_trims("Finding mistakes", find)

    def _propose_trims(self, title: str, find: Callable) -> None:
        """Run a trim proposer over the selected episodes (all, if none) as a job; say what it found."""
        if self.root is None:
            self.ctx.messages.fail("open a dataset first")
            return
        if self.pause_job.is_running():
            return
        ids = self.selected_ids() or None
        root = self.root

        def job(progress, should_stop):
            with open_workspace(root) as ws:
                return find(ws, ids, progress, should_stop)

        def done(message: str) -> None:
            self.progress.setVisible(False)
            self.ctx.messages.say(message)
            self._edit("", [], lambda cat: None, refresh_all=True)
            self.scan_and_compute()

        self.pause_job.start(job, on_done=done, on_progress=self._job_progress,
                             on_exception=lambda exc: (self.progress.setVisible(False),
                                                       self.ctx.messages.alert(title, describe_error(exc))))

    # -- summary ---------------------------------------------------------------------------------
    def _show_summary(self) -> None:
        s = summarise(self.model.rows())
        pause = "" if s["pause_fraction"] is None else f" · {100 * s['pause_fraction']:.0f} % idle"
        deleted = f" · {s['deleted']} deleted" if s["deleted"] else ""
        self.summary_label.setText(f"{s['episodes']} episodes · {s['duration_s'] / 60:.1f} min "
                                   f"({s['kept_s'] / 60:.1f} kept) · {s['success']} ✓ {s['failure']} ✗{pause}{deleted}")

    def _show_stats(self, summary: dict, problems: list[str]) -> None:
        rows = []
        for key, value in summary.items():
            if key in STATS_HIDDEN:
                continue
            if key == "action_range" and isinstance(value, dict):
                rows.append(("action range", "<br>".join(f"{k}: {_fmt(lo)} … {_fmt(hi)}" for k, (lo, hi) in value.items())))
            elif isinstance(value, dict):
                inner = ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
                rows.append((key, inner))
            elif isinstance(value, list):
                rows.append((key, ", ".join(_fmt(v) for v in value) or "—"))
            else:
                rows.append((key, _fmt(value)))
        html = ["<table cellspacing='0' cellpadding='4'>"]
        for k, v in rows:
            html.append(f"<tr><td style='color:#9fb3c8;padding-right:16px'>{k.replace('_', ' ')}</td><td>{v}</td></tr>")
        html.append("</table>")
        if problems:
            html.append("<p style='color:#d8a235'><b>Unreadable episodes</b><br>" + "<br>".join(problems) + "</p>")
        self.stats_view.setHtml("".join(html))

    def _set_enabled(self, on: bool) -> None:
        for b in self.edit_buttons:
            b.setEnabled(on)
        self.reload_button.setEnabled(on)
        self.export_button.setEnabled(on or self.exporter.is_running())

    # -- export ----------------------------------------------------------------------------------
    def export_clicked(self) -> None:
        """Export… asks where to; while an export runs the same button cancels it."""
        if self.exporter.is_running():
            self.exporter.cancel()
            return
        if self.root is None:
            self.ctx.messages.fail("open a dataset first")
            return
        self.exporter.ask_dataset(self.root, self)

    def export_video(self) -> None:
        view = self.timeline.episode
        if self.root is None or view is None or view.id != self.current_id:
            self.ctx.messages.fail("select an episode first; its video is what the timeline shows")
            return
        if self.exporter.is_running():
            self.ctx.messages.fail("an export is running; wait for it or cancel it")
            return
        self.exporter.ask_video(self.root, view.id, list(view.cameras), self)

    def _export_started(self) -> None:
        self.export_button.setText("Cancel export")
        self.export_button.setToolTip("Stop the export; nothing half-written is left behind")
        self.video_button.setEnabled(False)

    def _export_finished(self) -> None:
        self.progress.setVisible(False)
        self.export_button.setText("Export…")
        self.export_button.setToolTip(EXPORT_TIP)
        self.export_button.setEnabled(self.root is not None)
        view = self.timeline.episode
        self.video_button.setEnabled(view is not None and bool(view.cameras))

    def shutdown(self) -> None:
        for job in (self.episode_job, self.stats_job, self.pause_job):
            job.shutdown(5000)
        self.exporter.shutdown(5000)

        def close() -> None:
            if self.catalog is not None:
                self.catalog.close()
                self.catalog = None

        self.catalog_thread.shutdown(close)


STATS_HIDDEN = ("per_episode", "episodes_detail", "pause_settings")


def _fmt(v) -> str:
    if isinstance(v, float):
        return "0" if abs(v) < 1e-6 else f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)
