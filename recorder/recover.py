"""Recovery of crashed recordings, run whenever a dataset is opened: no manual step, ever.

A journal nobody holds a lock on belongs to a recording that died (SIGKILL, power cut, full
disk). It is finalised exactly as a finished recording would be, with ``complete=False`` unless the
recording had already sealed it, and everything up to its last intact block (at most the final
second) is kept. A journal still locked is a recording in progress and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py

from recorder import format as fmt
from recorder.finalize import write_episode
from recorder.journal import JournalError, fsync_dir, is_disk_full, is_locked, read_journal


@dataclass
class RecoveryReport:
    recovered: list[str] = field(default_factory=list)  # episode ids rebuilt from journals
    in_progress: list[str] = field(default_factory=list)  # journals of live recordings (left alone)
    notes: list[str] = field(default_factory=list)  # what was cleaned up, one line each
    problems: list[str] = field(default_factory=list)  # journals that could not be recovered


def recover_dataset(root: str | Path) -> RecoveryReport:
    report = RecoveryReport()
    folder = fmt.episodes_dir(root)
    if not folder.is_dir():
        return report
    for journal in sorted(folder.glob("ep_*" + fmt.JOURNAL_SUFFIX)):
        _recover_one(journal, report)
    for tmp in sorted(folder.glob("ep_*" + fmt.TEMP_SUFFIX)):
        journal = folder / (tmp.name[: -len(fmt.TEMP_SUFFIX)] + fmt.JOURNAL_SUFFIX)
        if not (journal.exists() and is_locked(journal)):
            try:
                tmp.unlink(missing_ok=True)  # a finalisation that died before its atomic rename
                report.notes.append(f"{tmp.name}: removed an unfinished temporary file")
            except OSError as exc:  # e.g. a read-only dataset: harmless, readers ignore .tmp files
                report.notes.append(f"{tmp.name}: could not remove an unfinished temporary file ({exc.strerror})")
    return report


def _recover_one(journal: Path, report: RecoveryReport) -> None:
    stem = journal.name[: -len(fmt.JOURNAL_SUFFIX)]
    if is_locked(journal):
        report.in_progress.append(stem)
        return
    h5 = journal.with_name(stem + fmt.EPISODE_SUFFIX)
    try:
        if h5.exists() and _is_whole_episode(h5):
            journal.unlink()  # the recording died between its atomic rename and removing the journal
            report.notes.append(f"{journal.name}: episode was already finalised; removed its journal")
            return
        contents = read_journal(journal)
        if not contents.blocks:
            journal.unlink()
            report.notes.append(f"{stem}: the recording stopped before its first second was written; nothing to recover")
            return
        write_episode(contents, h5)
        journal.unlink()
        fsync_dir(journal.parent)
        report.recovered.append(stem)
    except JournalError as exc:
        report.problems.append(f"{journal.name}: cannot recover: {exc}")
    except Exception as exc:  # never fatal: the journal stays and is retried at the next open
        if is_disk_full(exc):
            report.problems.append(f"{journal.name}: cannot recover yet: the disk is full; free space and open "
                                   "the dataset again")
        elif isinstance(exc, OSError):
            report.problems.append(f"{journal.name}: cannot recover yet: {exc.strerror or exc}")
        else:
            why = " ".join(str(exc).split())[:200]
            report.problems.append(f"{journal.name}: cannot recover: damaged journal ({type(exc).__name__}: {why})")


def _is_whole_episode(path: Path) -> bool:
    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("format") == fmt.FORMAT_NAME and fmt.TIME in f
    except OSError:
        return False
