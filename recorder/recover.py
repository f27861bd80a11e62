"""Recovery of crashed recordings, run whenever a dataset is opened: no manual step, ever.

A journal nobody holds a lock on belongs to a recording that died (SIGKILL, power cut, full
disk). It is finalised exactly as a finished recording would be, with ``complete=False`` unless the
recording had already sealed it, and everything up to its last intact block (at most the final
second) is kept. A journal still locked is a recording in progress and is left alone.

A journal is removed without being recovered only when it provably is the journal of the finished
episode of its number (same recording id, or start time for older files, and the same samples): a
recording that died between renaming its episode into place and removing the journal. Any other
journal beside a finished episode of its number is recovered under a new number, with a note.
Every note is one line for the user; commands that open a dataset show them.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import h5py

from recorder import format as fmt
from recorder.finalize import DAMAGED_SUFFIX, lost_spans, retire_journal, write_episode
from recorder.journal import JournalContents, JournalError, TornHeader, fsync_dir, is_disk_full, is_locked, read_journal


@dataclass
class RecoveryReport:
    recovered: list[str] = field(default_factory=list)  # episode ids rebuilt from journals
    in_progress: list[str] = field(default_factory=list)  # journals of live recordings (left alone)
    notes: list[str] = field(default_factory=list)  # what was cleaned up, one line each
    problems: list[str] = field(default_factory=list)  # journals that could not be recovered


RECOVERY_WAIT_S = 120.0  # how long an open waits for another process's recovery of the same dataset


def recover_dataset(root: str | Path, wait_s: float = RECOVERY_WAIT_S) -> RecoveryReport:
    """Recover every crashed recording of the dataset at ``root`` (see the module docstring).

    Two processes opening a dataset at once (two ``info`` calls, the GUI and a command) must not
    both recover the same journal: each would find the other's temporary file or missing journal
    and report "cannot recover yet". Recovery therefore holds an exclusive ``flock`` on the
    ``episodes/`` folder; a second process waits for it (up to ``wait_s``), then finds the work done.
    Recorders never take that lock, so a live recording is never waited for.
    """
    report = RecoveryReport()
    folder = fmt.episodes_dir(root)
    if not folder.is_dir():
        return report
    journals, tmps = _leftovers(folder)
    if not any(p.name.endswith(fmt.JOURNAL_SUFFIX) for p in journals) and not tmps:
        _remind(journals, report)  # nothing to recover: no lock, two globs
        return report
    with _folder_lock(folder, wait_s) as held:
        if not held:
            report.problems.append(f"{folder.name}: another process has been recovering this dataset for over "
                                   f"{wait_s:.0f} s; open it again once it is done")
            return report
        journals, tmps = _leftovers(folder)  # what the process before us left
        kept_aside = [p for p in journals if not p.name.endswith(fmt.JOURNAL_SUFFIX)]
        for journal in journals:
            if journal.name.endswith(fmt.JOURNAL_SUFFIX):
                _recover_one(journal, report)
        _remind(kept_aside, report)
        for tmp in tmps:
            journal = folder / (tmp.name[: -len(fmt.TEMP_SUFFIX)] + fmt.JOURNAL_SUFFIX)
            if not (journal.exists() and is_locked(journal)):
                try:
                    tmp.unlink(missing_ok=True)  # a finalisation that died before its atomic rename
                    report.notes.append(f"{tmp.name}: removed an unfinished temporary file")
                except OSError as exc:  # e.g. a read-only dataset: harmless, readers ignore .tmp files
                    report.notes.append(f"{tmp.name}: could not remove an unfinished temporary file "
                                        f"({exc.strerror})")
    return report


def _leftovers(folder: Path) -> tuple[list[Path], list[Path]]:
    """Journals (and damaged journals kept aside), and temporary files: two globs."""
    return sorted(folder.glob("ep_*" + fmt.JOURNAL_SUFFIX + "*")), sorted(folder.glob("ep_*" + fmt.TEMP_SUFFIX))


def _remind(paths: list[Path], report: RecoveryReport) -> None:
    for kept in paths:  # a reminder at every open, until the user deletes it
        if DAMAGED_SUFFIX in kept.name:
            report.notes.append(f"{kept.name}: a damaged journal kept aside by an earlier recovery; delete it "
                                f"once {kept.name.split('.', 1)[0]} is checked")


@contextmanager
def _folder_lock(folder: Path, wait_s: float) -> Iterator[bool]:
    """Hold an exclusive flock on ``folder`` (True), or give up after ``wait_s`` (False).

    Where the folder cannot be opened or locked at all (a file system without flock), recovery
    goes on unlocked, as before: a lock must never make a dataset unreadable.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield True
        return
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
            except OSError:
                break
        yield True
    finally:
        os.close(fd)  # releases the lock


def _recover_one(journal: Path, report: RecoveryReport) -> None:
    stem = journal.name[: -len(fmt.JOURNAL_SUFFIX)]
    if is_locked(journal):
        report.in_progress.append(stem)
        return
    h5 = journal.with_name(stem + fmt.EPISODE_SUFFIX)
    try:
        contents = read_journal(journal)
        if h5.exists():
            finished = _episode_facts(h5)
            if finished is not None and _belongs(contents, finished):
                journal.unlink()  # the recording died between its atomic rename and removing the journal
                fsync_dir(journal.parent)
                report.notes.append(f"{journal.name}: episode was already finalised; removed its journal")
                return
            if finished is not None and _same_recording(contents, finished):
                # Its own journal, damaged since the episode was written from it: the episode is the
                # whole copy; the journal is kept aside (never deleted), no second episode is made.
                kept = retire_journal(journal, contents, keep=True)
                report.notes.append(f"{journal.name}: {h5.name} was already finalised from it, but the journal "
                                    f"now differs (damaged); kept it as {kept.name if kept else journal.name}")
                return
            # Another recording owns this number (a copied-in file, a reused name): never delete the
            # journal, never write over the file; the journal becomes an episode of its own.
            journal = contents.path = _renumber(journal)
            new_stem = journal.name[: -len(fmt.JOURNAL_SUFFIX)]
            report.notes.append(f"{stem}.journal does not belong to the finished {h5.name} (another recording); "
                                f"recovered it as {new_stem} instead")
            stem, h5 = new_stem, journal.with_name(new_stem + fmt.EPISODE_SUFFIX)
        if not contents.blocks and contents.damaged:  # nothing intact, but never delete what may be repairable
            kept = retire_journal(journal, contents)
            report.problems.append(f"{journal.name}: cannot recover: no block of it is intact; it is kept as "
                                   f"{kept.name if kept else journal.name}")
            return
        if not contents.blocks:
            journal.unlink()
            report.notes.append(f"{stem}: the recording stopped before its first second was written; nothing to recover")
            return
        write_episode(contents, h5)
        kept = retire_journal(journal, contents)
        report.recovered.append(stem)
        if kept is not None:
            report.notes.append(damage_note(stem, contents, kept))
    except TornHeader:
        if _young(journal):  # a recorder creates the file a moment before it locks it: not ours to judge yet
            report.in_progress.append(stem)
            return
        journal.unlink()
        report.notes.append(f"{stem}: the recording was killed before its header was written; nothing to recover")
    except JournalError as exc:
        why = str(exc)
        why = why[len(journal.name) + 2:] if why.startswith(journal.name + ": ") else why
        report.problems.append(f"{journal.name}: cannot recover: {why}")
    except Exception as exc:  # noqa: BLE001 - never fatal: the journal stays and is retried at the next open
        if is_disk_full(exc):
            report.problems.append(f"{journal.name}: cannot recover yet: the disk is full; free space and open "
                                   "the dataset again")
        elif isinstance(exc, OSError):
            report.problems.append(f"{journal.name}: cannot recover yet: {exc.strerror or exc}")
        else:
            why = " ".join(str(exc).split())[:200]
            report.problems.append(f"{journal.name}: cannot recover: damaged journal ({type(exc).__name__}: {why})")


@dataclass(frozen=True)
class _Finished:
    """What identifies a finished episode file: its recording id (newer files), start time, sample count."""

    recording_id: str | None
    start_time: str | None
    samples: int


def _episode_facts(path: Path) -> _Finished | None:
    """None when ``path`` is not a whole episode file (then nothing proves the journal is its)."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != fmt.FORMAT_NAME or fmt.TIME not in f:
                return None
            rid, start = f.attrs.get("recording_id"), f.attrs.get("start_time")
            return _Finished(rid if isinstance(rid, str) else None, start if isinstance(start, str) else None,
                             int(f[fmt.TIME].shape[0]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _belongs(contents: JournalContents, finished: _Finished) -> bool:
    """True only when the journal is provably the one ``finished`` was written from.

    A recording that died between renaming its episode into place and removing its journal leaves a
    journal with the same recording id (or, from before ids were written, the same start time) and
    exactly the episode's samples. Anything else is another recording's journal.
    """
    meta = contents.header.get("metadata") or {}
    rid = meta.get("recording_id")
    if rid is not None or finished.recording_id is not None:
        if rid != finished.recording_id:
            return False
    elif finished.start_time is None or meta.get("start_time") != finished.start_time:
        return False
    return contents.samples == finished.samples and not contents.damaged


TORN_HEADER_AGE_S = 60.0  # a journal without a whole header younger than this may be one being created


def _young(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < TORN_HEADER_AGE_S
    except OSError:
        return False


def _same_recording(contents: JournalContents, finished: _Finished) -> bool:
    """Both carry the same recording id (written by the same recording)."""
    rid = (contents.header.get("metadata") or {}).get("recording_id")
    return rid is not None and rid == finished.recording_id


def damage_note(stem: str, contents: JournalContents, kept: Path) -> str:
    """One line: what a damaged journal cost, and where it is kept."""
    parts = []
    for span in lost_spans(contents):
        first, last = span["samples"]
        after, before = span["after_s"], span["before_s"]
        if last is None:
            where = f"every sample from {first} on (after {after:.2f} s)" if after is not None else "every sample"
        else:
            approx = "about " if span.get("estimated") else ""
            count = last - first + 1
            between = (f"between {after:.2f} s and {before:.2f} s" if after is not None
                       else f"before {before:.2f} s")
            where = f"{approx}{count} samples ({first}-{last}, {between})" if count > 0 else f"no samples ({between})"
        parts.append(f"{where} in bytes {span['bytes'][0]}-{span['bytes'][1]}")
    return (f"{stem}: its journal was damaged; recovered {contents.samples} samples, lost {'; '.join(parts)}; "
            f"the journal is kept as {kept.name} (delete it once {stem} is checked)")


def _renumber(journal: Path) -> Path:
    """Move ``journal`` to the first free episode number (hard link, then unlink: never two owners)."""
    folder = journal.parent
    number = fmt.next_episode_number(folder)
    for _ in range(1000):  # a recorder may take a number meanwhile: its O_EXCL journal makes the link fail
        eid = fmt.episode_id(number)
        target = folder / (eid + fmt.JOURNAL_SUFFIX)
        if not (folder / (eid + fmt.EPISODE_SUFFIX)).exists():
            try:
                os.link(journal, target)
            except FileExistsError:
                pass
            else:
                journal.unlink()
                fsync_dir(folder)
                return target
        number += 1
    raise OSError(f"no free episode number in {folder} for {journal.name}")
