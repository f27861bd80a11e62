"""The curation catalog: every curator decision about a dataset, beside the raw episodes.

``DATASET/catalog.sqlite`` (stdlib sqlite3, WAL journal) holds outcomes, tags and tagged time
ranges, notes, soft deletes, trims (proposed, applied, rejected) and the train/validation split.
The raw episode files are never opened for writing by curation, so no curator action can damage
a recording.

Why SQLite in WAL mode: each edit is one transaction (all of it lands or none of it does, even
if the process dies half-way); readers never block the writer and see a consistent snapshot, so
the GUI, a second command line and the recorder's own process can all work on the dataset at
once; ``synchronous=FULL`` makes a committed edit survive a power cut.

Why undo works the way it does: every edit records the *before-image* of each row it touches
(``edit_rows``: table, key, the row as JSON or NULL if the row did not exist) in the same
transaction as the change. Undo restores those images in reverse order and marks the edit undone,
again in one transaction. This is generic (no per-command inverse to keep in step) and exact, and
since it lives in the database, ``--undo`` works across processes and restarts, repeatedly, back
to the first edit. Undo is a stack: it always takes back the newest edit not yet undone.

Facts read from the episode files (length, device, the station's success check) are cached in
``episodes`` by `Catalog.sync`; they are observations, not edits, and are not undoable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time as _time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

CATALOG_NAME = "catalog.sqlite"
SCHEMA_VERSION = 1
OUTCOMES = ("success", "failure", "unknown")
TRIM_STATES = ("proposed", "applied", "rejected")
SUBSETS = ("train", "valid")
RECOVERY_TAG = "recovery"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    id TEXT PRIMARY KEY,
    samples INTEGER NOT NULL,
    rate_hz REAL NOT NULL,
    duration REAL NOT NULL,
    task TEXT NOT NULL,
    device TEXT NOT NULL,
    complete INTEGER NOT NULL,
    station_success INTEGER,
    file_size INTEGER NOT NULL,
    file_mtime REAL NOT NULL,
    first_seen TEXT NOT NULL,
    fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS episode_state (
    episode_id TEXT PRIMARY KEY REFERENCES episodes(id),
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'unknown')),
    outcome_source TEXT NOT NULL CHECK (outcome_source IN ('station', 'curator')),
    deleted_at TEXT
);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    tag TEXT NOT NULL,
    start REAL,
    end REAL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_episode ON tags(episode_id);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    start_index INTEGER NOT NULL,
    end_index INTEGER NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'applied', 'rejected')),
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    CHECK (0 <= start_index AND start_index < end_index)
);
CREATE INDEX IF NOT EXISTS trims_episode ON trims(episode_id);
CREATE TABLE IF NOT EXISTS split (
    episode_id TEXT PRIMARY KEY REFERENCES episodes(id),
    subset TEXT NOT NULL CHECK (subset IN ('train', 'valid'))
);
CREATE TABLE IF NOT EXISTS provenance (
    episode_id TEXT PRIMARY KEY REFERENCES episodes(id),
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    description TEXT NOT NULL,
    undone_at TEXT
);
CREATE TABLE IF NOT EXISTS edit_rows (
    edit_id INTEGER NOT NULL REFERENCES edits(id),
    seq INTEGER NOT NULL,
    table_name TEXT NOT NULL,
    row_key TEXT NOT NULL,
    before TEXT,
    PRIMARY KEY (edit_id, seq)
);
"""

# The curated tables an edit may touch, and each one's key column.
_EDITABLE = {"episode_state": "episode_id", "tags": "id", "notes": "id", "trims": "id", "split": "episode_id",
             "meta": "key"}


def _now() -> str:
    return _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime())


@dataclass(frozen=True)
class EpisodeFacts:
    """What `Catalog.sync` caches from an episode file."""

    id: str
    samples: int
    rate_hz: float
    task: str
    device: str
    complete: bool
    station_success: bool | None
    file_size: int
    file_mtime: float
    duration: float  # seconds: last tick time plus one period (missed ticks included)
    tags: tuple[str, ...] = ()  # the episode file's own ``tags`` attribute (e.g. a take-over's "recovery")
    fingerprint: str = ""  # recorder.identity.file_fingerprint of the file ("" when not taken)


@dataclass(frozen=True)
class Tag:
    id: int
    episode_id: str
    tag: str
    start: float | None = None
    end: float | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "episode": self.episode_id, "tag": self.tag, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Trim:
    id: int
    episode_id: str
    start_index: int
    end_index: int
    start: float
    end: float
    source: str
    status: str
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"id": self.id, "episode": self.episode_id, "start_index": self.start_index,
                "end_index": self.end_index, "start": self.start, "end": self.end, "source": self.source,
                "status": self.status, **({"detail": self.detail} if self.detail else {})}


@dataclass(frozen=True)
class Note:
    id: int
    episode_id: str
    text: str
    created_at: str


@dataclass(frozen=True)
class EpisodeRecord:
    """An episode as the curator sees it: cached facts plus curation state."""

    facts: EpisodeFacts
    outcome: str
    outcome_source: str
    deleted: bool
    tags: tuple[Tag, ...] = ()
    notes: tuple[Note, ...] = ()

    @property
    def id(self) -> str:
        return self.facts.id

    def as_dict(self) -> dict:
        f = self.facts
        return {"id": f.id, "samples": f.samples, "duration": f.duration, "task": f.task, "device": f.device,
                "complete": f.complete, "outcome": self.outcome, "outcome_source": self.outcome_source,
                "deleted": self.deleted, "tags": [t.as_dict() for t in self.tags],
                "notes": [n.text for n in self.notes]}


@dataclass(frozen=True)
class EditRecord:
    id: int
    at: str
    description: str
    undone_at: str | None

    def as_dict(self) -> dict:
        return {"id": self.id, "at": self.at, "description": self.description, "undone_at": self.undone_at}


@dataclass(frozen=True)
class SplitInfo:
    seed: int
    val_fraction: float
    assignment: dict[str, str]  # episode id → "train" | "valid"

    def ids(self, subset: str) -> list[str]:
        return sorted(i for i, s in self.assignment.items() if s == subset)


class _Edit:
    """Writes of one edit; each write stores the row's before-image for undo."""

    def __init__(self, conn: sqlite3.Connection, edit_id: int) -> None:
        self._conn = conn
        self._id = edit_id
        self._seq = 0
        self.changes = 0

    def _before(self, table: str, key: object) -> None:
        col = _EDITABLE[table]
        cur = self._conn.execute(f"SELECT * FROM {table} WHERE {col} = ?", (key,))
        row = cur.fetchone()
        before = None if row is None else json.dumps(dict(zip([d[0] for d in cur.description], row, strict=True)))
        self._conn.execute("INSERT INTO edit_rows (edit_id, seq, table_name, row_key, before) VALUES (?, ?, ?, ?, ?)",
                           (self._id, self._seq, table, json.dumps(key), before))
        self._seq += 1

    def insert(self, table: str, values: dict) -> int:
        cols = ", ".join(values)
        cur = self._conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(values))})",
                                 tuple(values.values()))
        key = values.get(_EDITABLE[table], cur.lastrowid)
        # The row did not exist before: its before-image is "absent".
        self._conn.execute("INSERT INTO edit_rows (edit_id, seq, table_name, row_key, before) VALUES (?, ?, ?, ?, NULL)",
                           (self._id, self._seq, table, json.dumps(key)))
        self._seq += 1
        self.changes += 1
        return int(cur.lastrowid) if isinstance(key, int) else cur.lastrowid

    def update(self, table: str, key: object, values: dict) -> None:
        self._before(table, key)
        sets = ", ".join(f"{c} = ?" for c in values)
        self._conn.execute(f"UPDATE {table} SET {sets} WHERE {_EDITABLE[table]} = ?", (*values.values(), key))
        self.changes += 1

    def upsert(self, table: str, key: object, values: dict) -> None:
        self._before(table, key)
        row = {_EDITABLE[table]: key, **values}
        self._conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                           tuple(row.values()))
        self.changes += 1

    def delete(self, table: str, key: object) -> None:
        self._before(table, key)
        self._conn.execute(f"DELETE FROM {table} WHERE {_EDITABLE[table]} = ?", (key,))
        self.changes += 1


def _disk_full(folder: Path) -> bool:
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


class ForeignCatalogError(ValueError):
    """The catalog belongs to another dataset (or to another copy of this one): refused, one line."""


class Catalog:
    """The catalog of one dataset. Open with `Catalog.open(dataset_root)`; close when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path} is a folder, not a curation catalog; move it aside so curation "
                                    "can create its catalog there (the raw episodes are untouched)")
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise self._unopenable(exc) from None
        try:
            self._conn.execute("PRAGMA busy_timeout = 10000")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"could not switch {self.path} to WAL (got {mode})")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._transaction():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._conn.execute(stmt)
                columns = {r[1] for r in self._conn.execute("PRAGMA table_info(episodes)")}
                if "fingerprint" not in columns:  # a catalog from before fingerprints: filled in as files are read
                    self._conn.execute("ALTER TABLE episodes ADD COLUMN fingerprint TEXT")
                row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    self._conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                                       (str(SCHEMA_VERSION),))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise ValueError(f"{self.path} was written by a newer Demo Station (catalog schema {row[0]}); "
                                     "update Demo Station to curate this dataset")
        except sqlite3.OperationalError as exc:
            self._conn.close()
            raise self._unopenable(exc) from None
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if _disk_full(self.path.parent):  # a healthy catalog SQLite cannot open for want of space
                raise self._no_space() from None
            raise ValueError(f"{self.path} is not a readable curation catalog ({exc}); "
                             "move it aside to start a fresh one (the raw episodes are untouched)") from None
        except BaseException:
            self._conn.close()
            raise

    def _no_space(self) -> Exception:
        from recorder.errors import NoSpaceError

        return NoSpaceError(f"disk full: {self.path.parent} has no space left to open the curation catalog "
                            f"({self.path.name}); free space and run again (the catalog and the raw episodes are "
                            "untouched)")

    def _unopenable(self, exc: sqlite3.OperationalError) -> Exception:
        """SQLite's "unable to open database file" in words: a read-only dataset, or a damaged catalog."""
        folder = self.path.parent
        if not os.access(folder, os.W_OK | os.X_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            return PermissionError(f"{folder} is read-only: curation keeps its catalog there ({self.path.name}) and "
                                   "must write to it; fix the folder's permissions or copy the dataset somewhere "
                                   "writable")
        if "disk is full" in str(exc) or _disk_full(folder):
            return self._no_space()
        if str(exc).startswith("database is locked"):
            return ValueError(f"{self.path} is locked by another program for more than 10 s; try again when it is done")
        return ValueError(f"{self.path} is not a readable curation catalog ({exc}); "
                          "move it aside to start a fresh one (the raw episodes are untouched)")

    @classmethod
    def open(cls, dataset_root: str | Path) -> "Catalog":
        """The catalog of the dataset at ``dataset_root``, bound to that dataset's id (see `bind`)."""
        from recorder.identity import dataset_id

        catalog = cls(Path(dataset_root) / CATALOG_NAME)
        try:
            catalog.bind(dataset_id(dataset_root))
        except BaseException:
            catalog.close()
            raise
        return catalog

    def bind(self, dataset_id: str) -> None:
        """Tie this catalog to the dataset ``dataset_id``, or refuse it if it belongs to another one.

        A catalog without an id (made before ids existed) is bound by its first open: migrated in
        place. A catalog copied from another dataset would apply its deletes, outcomes and trims to
        unrelated episodes, so it is refused in one line naming both ids.
        """
        with self._transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'dataset_id'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('dataset_id', ?)", (dataset_id,))
            elif row[0] != dataset_id:
                raise ForeignCatalogError(
                    f"{self.path} belongs to dataset {row[0]}, not to this dataset {dataset_id} "
                    f"({self.path.parent / 'dataset.json'}): it was copied from another dataset; move it aside "
                    "to start a fresh catalog (the raw episodes are untouched)")

    @property
    def dataset_id(self) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'dataset_id'").fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def edit(self, description: str) -> Iterator[_Edit]:
        """One undoable edit: everything written through the yielded `_Edit` lands atomically.

        An edit that changes nothing leaves no entry in the undo stack.
        """
        with self._transaction() as conn:
            cur = conn.execute("INSERT INTO edits (at, description) VALUES (?, ?)", (_now(), description))
            e = _Edit(conn, int(cur.lastrowid))
            yield e
            if e.changes == 0:
                conn.execute("DELETE FROM edits WHERE id = ?", (e._id,))

    # -- facts from the episode files --------------------------------------------------------------
    def sync(self, facts: Iterable[EpisodeFacts]) -> list[str]:
        """Record (or refresh) facts about the readable episodes; returns ids seen for the first time.

        A new episode's outcome is pre-filled from the station's own success check (attr
        ``success``): success, failure, or unknown when the station did not judge it. Its ``tags``
        attribute (the recorder tags an operator's take-over from a policy ``recovery``) becomes
        whole-episode tags, once, when the episode is first seen; from then on they are curation's.
        """
        new: list[str] = []
        with self._transaction() as conn:
            for f in facts:
                row = conn.execute("SELECT file_size, file_mtime, fingerprint FROM episodes WHERE id = ?",
                                   (f.id,)).fetchone()
                if row is not None and row[2] and f.fingerprint and row[2] != f.fingerprint:
                    raise ForeignCatalogError(
                        f"{self.path} describes another {f.id} (fingerprint {row[2]}, the file has {f.fingerprint}): "
                        "it belongs to another copy of this dataset; move it aside to start a fresh catalog "
                        "(the raw episodes are untouched)")
                values = (f.samples, f.rate_hz, f.duration, f.task, f.device, int(f.complete),
                          None if f.station_success is None else int(f.station_success), f.file_size, f.file_mtime)
                if row is None:
                    conn.execute("INSERT INTO episodes (samples, rate_hz, duration, task, device, complete, "
                                 "station_success, file_size, file_mtime, id, first_seen, fingerprint) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 (*values, f.id, _now(), f.fingerprint or None))
                    for tag in dict.fromkeys(f.tags):
                        conn.execute("INSERT INTO tags (episode_id, tag, start, end, created_at) "
                                     "VALUES (?, ?, NULL, NULL, ?)", (f.id, tag, _now()))
                    new.append(f.id)
                elif (row[0], row[1]) != (f.file_size, f.file_mtime) or (f.fingerprint and not row[2]):
                    conn.execute("UPDATE episodes SET samples = ?, rate_hz = ?, duration = ?, task = ?, device = ?, "
                                 "complete = ?, station_success = ?, file_size = ?, file_mtime = ?, "
                                 "fingerprint = COALESCE(?, fingerprint) WHERE id = ?",
                                 (*values, f.fingerprint or None, f.id))
                outcome = "unknown" if f.station_success is None else ("success" if f.station_success else "failure")
                conn.execute("INSERT OR IGNORE INTO episode_state (episode_id, outcome, outcome_source) "
                             "VALUES (?, ?, 'station')", (f.id, outcome))
                # A station outcome that was never edited follows the file (e.g. a recovered episode).
                conn.execute("UPDATE episode_state SET outcome = ? WHERE episode_id = ? AND outcome_source = 'station'",
                             (outcome, f.id))
        return new

    def cached_file_stamp(self, episode_id: str) -> tuple[int, float] | None:
        row = self._conn.execute("SELECT file_size, file_mtime FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def unfingerprinted_ids(self) -> list[str]:
        """Known episodes whose file fingerprint was never taken (a catalog from before fingerprints)."""
        return [r[0] for r in self._conn.execute("SELECT id FROM episodes WHERE fingerprint IS NULL ORDER BY id")]

    def cached_file_stamps(self) -> dict[str, tuple[int, float]]:
        """Every known episode's file (size, modification time) when its facts were read, in one query."""
        return {r[0]: (int(r[1]), float(r[2])) for r in self._conn.execute(
            "SELECT id, file_size, file_mtime FROM episodes")}

    # -- queries ----------------------------------------------------------------------------------
    def known_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT id FROM episodes ORDER BY id")]

    def facts(self, episode_id: str) -> EpisodeFacts:
        row = self._conn.execute("SELECT id, samples, rate_hz, task, device, complete, station_success, file_size, "
                                 "file_mtime, duration FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        if row is None:
            raise ValueError(self._unknown(episode_id))
        return EpisodeFacts(row[0], int(row[1]), float(row[2]), row[3], row[4], bool(row[5]),
                            None if row[6] is None else bool(row[6]), int(row[7]), float(row[8]), float(row[9]))

    def _unknown(self, episode_id: str) -> str:
        ids = self.known_ids()
        hint = f"known: {ids[0]} … {ids[-1]} ({len(ids)} episodes)" if ids else "the dataset has no readable episodes"
        return f"unknown episode {episode_id!r}; {hint}"

    def require(self, episode_id: str) -> EpisodeFacts:
        """The facts of a known episode, or ValueError (a bad id is a usage error)."""
        return self.facts(episode_id)

    def record(self, episode_id: str) -> EpisodeRecord:
        facts = self.facts(episode_id)
        outcome, source, deleted = self._conn.execute(
            "SELECT outcome, outcome_source, deleted_at FROM episode_state WHERE episode_id = ?",
            (episode_id,)).fetchone()
        return EpisodeRecord(facts, outcome, source, deleted is not None, tuple(self.tags(episode_id)),
                             tuple(self.notes(episode_id)))

    def records(self, include_deleted: bool = True, ids: Iterable[str] | None = None) -> list[EpisodeRecord]:
        """Every known episode's record, or only those of ``ids`` that are known (in id order)."""
        known = self.known_ids()
        if ids is not None:
            wanted = set(ids)
            known = [i for i in known if i in wanted]
        out = [self.record(i) for i in known]
        return out if include_deleted else [r for r in out if not r.deleted]

    def is_deleted(self, episode_id: str) -> bool:
        row = self._conn.execute("SELECT deleted_at FROM episode_state WHERE episode_id = ?", (episode_id,)).fetchone()
        if row is None:
            raise ValueError(self._unknown(episode_id))
        return row[0] is not None

    def tags(self, episode_id: str | None = None) -> list[Tag]:
        sql, args = "SELECT id, episode_id, tag, start, end FROM tags", ()
        if episode_id is not None:
            sql, args = sql + " WHERE episode_id = ?", (episode_id,)
        return [Tag(*r) for r in self._conn.execute(sql + " ORDER BY episode_id, id", args)]

    def notes(self, episode_id: str) -> list[Note]:
        return [Note(*r) for r in self._conn.execute(
            "SELECT id, episode_id, text, created_at FROM notes WHERE episode_id = ? ORDER BY id", (episode_id,))]

    def trims(self, episode_id: str | None = None, status: str | None = None) -> list[Trim]:
        sql = "SELECT id, episode_id, start_index, end_index, start, end, source, status, detail FROM trims"
        where, args = [], []
        if episode_id is not None:
            where.append("episode_id = ?")
            args.append(episode_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [Trim(r[0], r[1], int(r[2]), int(r[3]), float(r[4]), float(r[5]), r[6], r[7], json.loads(r[8]))
                for r in self._conn.execute(sql + " ORDER BY episode_id, start_index, id", args)]

    def kept_mask(self, episode_id: str) -> np.ndarray:
        """Boolean (T,) mask of the samples policy windows may use: False inside applied trims."""
        n = self.facts(episode_id).samples
        mask = np.ones(n, dtype=bool)
        for t in self.trims(episode_id, status="applied"):
            mask[max(0, t.start_index):min(n, t.end_index)] = False
        return mask

    def kept_segments(self, episode_id: str) -> list[tuple[int, int]]:
        """Contiguous kept sample ranges [start, end): windows that must not straddle a cut use these."""
        mask = self.kept_mask(episode_id)
        padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=False)]

    def split(self) -> SplitInfo | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'split'").fetchone()
        if row is None:
            return None
        info = json.loads(row[0])
        assignment = dict(self._conn.execute("SELECT episode_id, subset FROM split"))
        return SplitInfo(int(info["seed"]), float(info["val_fraction"]), assignment)

    def history(self, limit: int | None = None) -> list[EditRecord]:
        sql = "SELECT id, at, description, undone_at FROM edits ORDER BY id DESC"
        rows = self._conn.execute(sql + (f" LIMIT {int(limit)}" if limit else ""))
        return [EditRecord(*r) for r in rows]

    # -- edits ------------------------------------------------------------------------------------
    def set_outcome(self, episode_id: str, outcome: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        self.require(episode_id)
        with self.edit(f"outcome {episode_id} {outcome}") as e:
            e.update("episode_state", episode_id, {"outcome": outcome, "outcome_source": "curator"})

    def add_tag(self, episode_id: str, tag: str, start: float | None = None, end: float | None = None) -> int:
        """A free tag, or a tagged time range [start, end) in episode seconds (e.g. ``recovery``)."""
        facts = self.require(episode_id)
        tag = tag.strip()
        if not tag:
            raise ValueError("a tag needs a name")
        if (start is None) != (end is None):
            raise ValueError("a tagged range needs both a start and an end")
        if start is not None:
            check_range(start, end, facts.duration)
        where = "" if start is None else f" {start:g}:{end:g}"
        with self.edit(f"tag {episode_id} {tag}{where}") as e:
            return e.insert("tags", {"episode_id": episode_id, "tag": tag, "start": start, "end": end,
                                     "created_at": _now()})

    def add_tags(self, tags: list[tuple[str, str, float | None, float | None]], description: str) -> list[int]:
        """Several tags ``(episode_id, tag, start, end)`` as one edit; ones already present are skipped."""
        checked = []
        for eid, tag, start, end in tags:
            facts = self.require(eid)
            if start is not None:
                check_range(start, end, facts.duration)
            checked.append((eid, tag.strip(), start, end))
        ids: list[int] = []
        with self.edit(description) as e:
            for eid, tag, start, end in checked:
                if any(t.tag == tag and t.start == start and t.end == end for t in self.tags(eid)):
                    continue
                ids.append(e.insert("tags", {"episode_id": eid, "tag": tag, "start": start, "end": end,
                                             "created_at": _now()}))
        return ids

    def remove_tag(self, episode_id: str, tag: str) -> int:
        """Remove every tag (whole-episode and ranges) of that name from the episode."""
        self.require(episode_id)
        ids = [t.id for t in self.tags(episode_id) if t.tag == tag]
        if not ids:
            raise ValueError(f"episode {episode_id} has no tag {tag!r}")
        with self.edit(f"untag {episode_id} {tag}") as e:
            for i in ids:
                e.delete("tags", i)
        return len(ids)

    def add_note(self, episode_id: str, text: str) -> int:
        self.require(episode_id)
        if not text.strip():
            raise ValueError("a note needs some text")
        with self.edit(f"note {episode_id}") as e:
            return e.insert("notes", {"episode_id": episode_id, "text": text, "created_at": _now()})

    def delete_episode(self, episode_id: str) -> bool:
        """Soft delete: the episode is left out of stats, splits and exports; its file stays."""
        if self.is_deleted(episode_id):
            return False
        with self.edit(f"delete {episode_id}") as e:
            e.update("episode_state", episode_id, {"deleted_at": _now()})
        return True

    def restore_episode(self, episode_id: str) -> bool:
        if not self.is_deleted(episode_id):
            return False
        with self.edit(f"restore {episode_id}") as e:
            e.update("episode_state", episode_id, {"deleted_at": None})
        return True

    def propose_trims(self, proposals: dict[str, list[dict]], source: str, detail: dict | None = None,
                      apply: bool = False) -> list[int]:
        """Store detector proposals (replacing that source's earlier unreviewed ones), as one edit.

        Each proposal is a dict with start_index, end_index, start, end. Spans a curator already
        applied or rejected are not proposed again. With ``apply`` they are stored as applied straight away.
        """
        for eid in proposals:
            self.require(eid)
        status = "applied" if apply else "proposed"
        ids: list[int] = []
        n_spans = sum(len(v) for v in proposals.values())
        with self.edit(f"{'apply' if apply else 'propose'} {n_spans} {source} trims in {len(proposals)} episodes") as e:
            for eid, spans in proposals.items():
                for old in self.trims(eid, status="proposed"):
                    if old.source == source:
                        e.delete("trims", old.id)
                reviewed = {(t.start_index, t.end_index) for t in self.trims(eid) if t.status != "proposed"}
                for s in spans:
                    if (int(s["start_index"]), int(s["end_index"])) in reviewed:
                        continue
                    ids.append(e.insert("trims", {
                        "episode_id": eid, "start_index": int(s["start_index"]), "end_index": int(s["end_index"]),
                        "start": float(s["start"]), "end": float(s["end"]), "source": source, "status": status,
                        "detail": json.dumps({**(detail or {}), **s.get("detail", {})}), "created_at": _now()}))
        return ids

    def add_trim(self, episode_id: str, start: float, end: float, start_index: int, end_index: int) -> int:
        """A manual trim of [start, end) seconds = samples [start_index, end_index), applied at once.

        `Workspace.add_trim` finds the sample indices from the episode's tick times.
        """
        facts = self.require(episode_id)
        check_range(start, end, facts.duration)
        if not 0 <= start_index < end_index <= facts.samples:
            raise ValueError(f"range {start:g}:{end:g} covers no sample of {episode_id}")
        with self.edit(f"trim {episode_id} {start:g}:{end:g}") as e:
            return e.insert("trims", {"episode_id": episode_id, "start_index": int(start_index),
                                      "end_index": int(end_index), "start": start, "end": end, "source": "manual",
                                      "status": "applied", "detail": "{}", "created_at": _now()})

    def move_trim(self, trim_id: int, start: float, end: float, start_index: int, end_index: int) -> None:
        """Give a trim new ends (a curator dragged it on the timeline), keeping its source and status.

        One undoable edit; `Workspace.move_trim` finds the sample indices from the tick times.
        """
        trim = next((t for t in self.trims() if t.id == trim_id), None)
        if trim is None:
            raise ValueError(f"unknown trim id {trim_id}; list trims with `demostation curate DIR --trims`")
        facts = self.require(trim.episode_id)
        check_range(start, end, facts.duration)
        if not 0 <= start_index < end_index <= facts.samples:
            raise ValueError(f"range {start:g}:{end:g} covers no sample of {trim.episode_id}")
        with self.edit(f"move trim {trim_id} of {trim.episode_id} to {start:g}:{end:g}") as e:
            e.update("trims", trim_id, {"start": float(start), "end": float(end), "start_index": int(start_index),
                                        "end_index": int(end_index)})

    def move_tag(self, tag_id: int, start: float, end: float) -> None:
        """Give a tagged range new ends (dragged on the timeline): one undoable edit."""
        tag = next((t for t in self.tags() if t.id == tag_id), None)
        if tag is None:
            raise ValueError(f"unknown tag id {tag_id}")
        if tag.start is None:
            raise ValueError(f"tag {tag.tag!r} of {tag.episode_id} covers the whole episode, not a range")
        check_range(start, end, self.require(tag.episode_id).duration)
        with self.edit(f"move tag {tag.tag} of {tag.episode_id} to {start:g}:{end:g}") as e:
            e.update("tags", tag_id, {"start": float(start), "end": float(end)})

    def set_trim_status(self, trim_ids: list[int], status: str) -> int:
        """Apply, reject or re-propose trims by id (one edit)."""
        if status not in TRIM_STATES:
            raise ValueError(f"trim status must be one of {', '.join(TRIM_STATES)}")
        known = {t.id: t for t in self.trims()}
        missing = [i for i in trim_ids if i not in known]
        if missing:
            raise ValueError(f"unknown trim id {missing[0]}; list trims with `demostation curate DIR --trims`")
        with self.edit(f"{status} trims {', '.join(map(str, trim_ids))}") as e:
            for i in trim_ids:
                if known[i].status != status:
                    e.update("trims", i, {"status": status})
            return e.changes

    def apply_proposed(self, episode_id: str | None = None) -> int:
        """Apply every reviewed-and-kept proposal (all episodes, or one)."""
        ids = [t.id for t in self.trims(episode_id, status="proposed")]
        if not ids:
            return 0
        return self.set_trim_status(ids, "applied")

    def set_split(self, assignment: dict[str, str], seed: int, val_fraction: float) -> None:
        """Store a train/validation split (replacing any earlier one) as one edit."""
        for eid, subset in assignment.items():
            self.require(eid)
            if subset not in SUBSETS:
                raise ValueError(f"subset must be train or valid, not {subset!r}")
        with self.edit(f"split {len(assignment)} episodes, valid {val_fraction:g}, seed {seed}") as e:
            for eid in [r[0] for r in self._conn.execute("SELECT episode_id FROM split")]:
                if eid not in assignment:
                    e.delete("split", eid)
            for eid, subset in sorted(assignment.items()):
                e.upsert("split", eid, {"subset": subset})
            e.upsert("meta", "split", {"value": json.dumps({"seed": int(seed), "val_fraction": float(val_fraction)})})

    def carry_over(self, episode_id: str, source: "Catalog", source_id: str, provenance: dict) -> None:
        """Copy another catalog's curation of ``source_id`` onto ``episode_id`` (used by merge).

        This sets the merged dataset's starting state, so it is not an undoable edit.
        """
        self.require(episode_id)
        rec = source.record(source_id)
        trims = source.trims(source_id)
        with self._transaction() as conn:
            src_state = source._conn.execute("SELECT deleted_at FROM episode_state WHERE episode_id = ?",
                                             (source_id,)).fetchone()
            conn.execute("UPDATE episode_state SET outcome = ?, outcome_source = ?, deleted_at = ? WHERE episode_id = ?",
                         (rec.outcome, rec.outcome_source, src_state[0] if src_state else None, episode_id))
            # The source's tags are authoritative (they include the file's own, unless a curator removed them).
            conn.execute("DELETE FROM tags WHERE episode_id = ?", (episode_id,))
            for t in rec.tags:
                conn.execute("INSERT INTO tags (episode_id, tag, start, end, created_at) VALUES (?, ?, ?, ?, ?)",
                             (episode_id, t.tag, t.start, t.end, _now()))
            for n in rec.notes:
                conn.execute("INSERT INTO notes (episode_id, text, created_at) VALUES (?, ?, ?)",
                             (episode_id, n.text, n.created_at))
            for t in trims:
                conn.execute("INSERT INTO trims (episode_id, start_index, end_index, start, end, source, status, "
                             "detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (episode_id, t.start_index, t.end_index, t.start, t.end, t.source, t.status,
                              json.dumps(t.detail), _now()))
            conn.execute("INSERT OR REPLACE INTO provenance (episode_id, detail) VALUES (?, ?)",
                         (episode_id, json.dumps(provenance)))

    def set_provenance(self, episode_id: str, provenance: dict) -> None:
        """Where an episode came from (an import's source file and index); a starting state, not an edit."""
        self.require(episode_id)
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO provenance (episode_id, detail) VALUES (?, ?)",
                         (episode_id, json.dumps(provenance)))

    def provenance(self, episode_id: str) -> dict | None:
        row = self._conn.execute("SELECT detail FROM provenance WHERE episode_id = ?", (episode_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def undo(self) -> EditRecord | None:
        """Take back the newest edit not yet undone; None when there is nothing to undo."""
        with self._transaction() as conn:
            row = conn.execute("SELECT id, at, description FROM edits WHERE undone_at IS NULL "
                               "ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None
            edit_id = row[0]
            rows = conn.execute("SELECT table_name, row_key, before FROM edit_rows WHERE edit_id = ? "
                                "ORDER BY seq DESC", (edit_id,)).fetchall()
            for table, key_json, before in rows:
                if table not in _EDITABLE:
                    raise ValueError(f"catalog edit {edit_id} names an unknown table {table!r}")
                key = json.loads(key_json)
                conn.execute(f"DELETE FROM {table} WHERE {_EDITABLE[table]} = ?", (key,))
                if before is not None:
                    values = json.loads(before)
                    conn.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                                 tuple(values.values()))
            undone_at = _now()
            conn.execute("UPDATE edits SET undone_at = ? WHERE id = ?", (undone_at, edit_id))
        return EditRecord(row[0], row[1], row[2], undone_at)


def check_range(start: float, end: float, duration: float) -> None:
    """A time range inside an episode: finite, start < end, within [0, duration]."""
    if not (np.isfinite(start) and np.isfinite(end)):
        raise ValueError(f"range {start}:{end} is not finite")
    if start < 0 or end <= start:
        raise ValueError(f"bad range {start:g}:{end:g}: need 0 <= START < END")
    if end > duration + 1e-6:
        raise ValueError(f"range {start:g}:{end:g} ends after the episode ({duration:g} s)")
