"""The episode table: a Qt model over the curation catalog's per-episode summary.

Rows come from the catalog (cached facts + curation state, one small query per episode), never from
opening episode files, so a dataset of hundreds of episodes lists at once. A file the catalog has
not read yet (a dataset never opened before, a new recording) is listed at once by its name as a
*pending* row ("…"), filled when its facts are imported; figures that need the actions (pause
fraction) arrive later from a background statistics job and fill their column in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont

from app.gui import theme
from curation.catalog import Catalog
from curation.source import Dataset, open_dataset
from curation.workspace import Stamp, scan_files

SORT_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class EpisodeRow:
    id: str
    samples: int
    rate_hz: float
    task: str
    device: str
    complete: bool
    outcome: str  # "success", "failure" or "unknown"
    outcome_source: str  # "station" or "curator"
    deleted: bool
    tags: tuple[str, ...] = ()
    range_tags: tuple[tuple[str, float, float], ...] = ()
    kept_samples: int | None = None
    pause_fraction: float | None = None  # from the statistics job
    notes: int = 0
    duration_s: float | None = None  # the catalog's (missed ticks included); else samples / rate
    pending: bool = False  # listed from its file name; facts not imported into the catalog yet

    @classmethod
    def listed(cls, episode_id: str) -> "EpisodeRow":
        """A row for a file whose facts are still being read (shown as "…")."""
        return cls(id=episode_id, samples=0, rate_hz=0.0, task="", device="", complete=True, outcome="unknown",
                   outcome_source="station", deleted=False, pending=True)

    @property
    def duration(self) -> float:
        if self.duration_s is not None:
            return self.duration_s
        return self.samples / self.rate_hz if self.rate_hz > 0 else 0.0

    @property
    def kept_duration(self) -> float:
        if self.kept_samples is None or self.samples == 0:
            return self.duration
        return self.duration * self.kept_samples / self.samples

    def tag_text(self) -> str:
        names = list(self.tags) + [f"{t} {a:.1f}–{b:.1f}s" for t, a, b in self.range_tags]
        return ", ".join(names)


def rows_from_catalog(catalog, ids: list[str] | None = None) -> list[EpisodeRow]:
    """Build table rows from a `curation.catalog.Catalog` (runs where the catalog lives)."""
    applied: dict[str, int] = {}
    for t in catalog.trims(status="applied"):
        applied.setdefault(t.episode_id, 0)
        applied[t.episode_id] += max(0, t.end_index - t.start_index)
    wanted = set(ids) if ids is not None else None
    rows = []
    for rec in catalog.records(ids=wanted):
        f = rec.facts
        whole = tuple(sorted({t.tag for t in rec.tags if t.start is None}))
        ranged = tuple((t.tag, float(t.start), float(t.end)) for t in rec.tags if t.start is not None)
        # Overlapping applied trims would count twice: clamp to the episode length.
        kept = max(0, f.samples - min(f.samples, applied.get(f.id, 0)))
        rows.append(EpisodeRow(id=f.id, samples=f.samples, rate_hz=f.rate_hz, task=f.task, device=f.device,
                               complete=f.complete, outcome=rec.outcome, outcome_source=rec.outcome_source,
                               deleted=rec.deleted, tags=whole, range_tags=ranged, kept_samples=kept,
                               notes=len(rec.notes), duration_s=getattr(f, "duration", None)))
    return rows


@dataclass
class QuickOpen:
    """A dataset listed without opening an episode file (see `quick_open`)."""

    catalog: Catalog
    dataset: Dataset
    rows: list[EpisodeRow]  # known episodes from the catalog, then pending rows for the unseen files
    unseen: dict[str, Stamp]  # files whose facts `import_facts` still has to read


def quick_open(root: str | Path) -> QuickOpen:
    """Open a dataset's catalog and list every episode file, reading none of them.

    A file counts as known when the catalog has its facts and its size and modification time are
    unchanged: its row comes from the catalog. Every other file gets a pending row from its name.
    Raises the same one-line errors as curation for a folder that is not a dataset.
    """
    dataset = open_dataset(root)
    catalog = Catalog.open(root)
    try:
        scan = scan_files(dataset, catalog)
        rows = rows_from_catalog(catalog, scan.known) + [EpisodeRow.listed(eid) for eid in scan.unseen]
        return QuickOpen(catalog, dataset, rows, scan.unseen)
    except BaseException:
        catalog.close()
        raise


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[EpisodeRow], str]
    sort: Callable[[EpisodeRow], Any]
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft
    tip: str = ""


def _pct(v: float | None) -> str:
    return "…" if v is None else f"{100 * v:.0f} %"


def _unless_pending(text: Callable[[EpisodeRow], str]) -> Callable[[EpisodeRow], str]:
    """A column's text, or "…" while the row's facts are still being read."""
    return lambda r: "…" if r.pending else text(r)


OUTCOME_COLOURS = {"success": theme.OK, "failure": theme.BAD, "unknown": theme.DIM}
RIGHT = Qt.AlignmentFlag.AlignRight

COLUMNS = [
    Column("Episode", lambda r: r.id, lambda r: r.id),
    Column("Outcome", _unless_pending(lambda r: r.outcome + ("" if r.outcome_source == "curator" or
                                                             r.outcome == "unknown" else " (station)")),
           lambda r: r.outcome, tip="success / failure: set by the station's check, or by a curator"),
    Column("Tags", lambda r: r.tag_text(), lambda r: r.tag_text()),
    Column("Duration", _unless_pending(lambda r: f"{r.duration:.1f} s"), lambda r: r.duration, RIGHT),
    Column("Kept", _unless_pending(lambda r: f"{r.kept_duration:.1f} s"), lambda r: r.kept_duration, RIGHT,
           "duration left after applied trims"),
    Column("Pauses", lambda r: _pct(r.pause_fraction),
           lambda r: -1.0 if r.pause_fraction is None else r.pause_fraction, RIGHT,
           "fraction of the episode the pause detector finds idle"),
    Column("Device", _unless_pending(lambda r: r.device), lambda r: r.device),
]


class EpisodeTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[EpisodeRow] = []
        self._index: dict[str, int] = {}
        self.columns = COLUMNS

    # -- data ------------------------------------------------------------------------------------
    def set_rows(self, rows: list[EpisodeRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index = {r.id: i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def update_rows(self, rows: list[EpisodeRow]) -> None:
        """Replace changed rows in place (keeps selection and scroll); unknown ids are appended.

        One ``dataChanged`` covers all replaced rows: a sorting proxy re-sorts on each signal, so a
        signal per row made filling 500 rows cost 500 sorts (seconds of the GUI thread).
        """
        changed: list[int] = []
        added = [row for row in rows if row.id not in self._index]
        for row in rows:
            i = self._index.get(row.id)
            if i is not None:
                old = self._rows[i]
                if row.pause_fraction is None and old.pause_fraction is not None:
                    row = replace(row, pause_fraction=old.pause_fraction)
                self._rows[i] = row
                changed.append(i)
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(self.columns) - 1))
        if added:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(added) - 1)
            for row in added:
                self._index[row.id] = len(self._rows)
                self._rows.append(row)
            self.endInsertRows()

    def remove_rows(self, ids: list[str]) -> None:
        """Drop these rows (files found unreadable while their facts were read)."""
        gone = set(ids) & set(self._index)
        if gone:
            self.set_rows([r for r in self._rows if r.id not in gone])

    def set_pause_fractions(self, fractions: dict[str, float]) -> None:
        for eid, frac in fractions.items():
            i = self._index.get(eid)
            if i is not None:
                self._rows[i] = replace(self._rows[i], pause_fraction=float(frac))
        if self._rows:
            col = next(k for k, c in enumerate(self.columns) if c.title == "Pauses")
            self.dataChanged.emit(self.index(0, col), self.index(len(self._rows) - 1, col))

    def row(self, i: int) -> EpisodeRow:
        return self._rows[i]

    def row_by_id(self, eid: str) -> EpisodeRow | None:
        i = self._index.get(eid)
        return None if i is None else self._rows[i]

    def rows(self) -> list[EpisodeRow]:
        return list(self._rows)

    # -- Qt model --------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            col = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return col.title
            if role == Qt.ItemDataRole.ToolTipRole and col.tip:
                return col.tip
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(col.align | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(row)
        if role == SORT_ROLE:
            return col.sort(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(col.align | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.deleted:
                return QColor(110, 116, 126)
            if col.title == "Outcome":
                return OUTCOME_COLOURS.get(row.outcome, theme.TEXT)
            if col.title == "Pauses" and row.pause_fraction is not None and row.pause_fraction > 0.2:
                return theme.WARN
            return None
        if role == Qt.ItemDataRole.FontRole and row.deleted:
            f = QFont()
            f.setStrikeOut(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole:
            extra = [] if row.complete else ["incomplete recording (ended early)"]
            if row.deleted:
                extra.append("deleted — restore it to use it again")
            return "\n".join([f"{row.id} · {row.task} · {row.samples} samples at {row.rate_hz:g} Hz", *extra])
        return None


class EpisodeFilterProxy(QSortFilterProxyModel):
    """Text filter over id, tags, device and outcome; deleted episodes hidden unless asked for."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.show_deleted = False
        self.text = ""

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_show_deleted(self, show: bool) -> None:
        self.beginFilterChange()
        self.show_deleted = bool(show)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        model: EpisodeTableModel = self.sourceModel()  # type: ignore[assignment]
        row = model.row(source_row)
        if row.deleted and not self.show_deleted:
            return False
        if not self.text:
            return True
        hay = " ".join([row.id, row.outcome, row.device, row.task, row.tag_text()]).lower()
        return all(word in hay for word in self.text.split())

    def lessThan(self, left, right) -> bool:  # noqa: N802
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


def summarise(rows: list[EpisodeRow]) -> dict:
    """Header figures of the table: counts and hours, live episodes only."""
    live = [r for r in rows if not r.deleted]
    total = sum(r.duration for r in live)
    kept = sum(r.kept_duration for r in live)
    pauses = [r.pause_fraction * r.duration for r in live if r.pause_fraction is not None]
    return {"episodes": len(live), "deleted": len(rows) - len(live),
            "success": sum(r.outcome == "success" for r in live), "failure": sum(r.outcome == "failure" for r in live),
            "duration_s": total, "kept_s": kept,
            "pause_fraction": (sum(pauses) / total) if pauses and total and not math.isnan(total) else None}
