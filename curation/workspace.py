"""A dataset opened for curation: the read-only episodes plus their catalog, kept in step.

Every curation command starts here. Opening lists the episode files by name (the contract reader
opens none of them), trusts the catalog's cached facts of every file whose size and modification
time are unchanged (a stat decides, no file is opened), reads the facts of the others (a handful of
root attributes and the last tick time: about 1 ms a file, never an array of images), and collects
one line per problem: a corrupt or half-written file is reported and skipped, never fatal to a
command over the whole dataset. `scan_files` and `import_facts` are the two halves, for callers
(the GUI) that list the known episodes first and import the new ones in batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.catalog import Catalog, EpisodeFacts
from curation.source import READ_ERRORS, Dataset, open_dataset
from recorder.dataset import EpisodeFileError
from recorder.identity import file_fingerprint

Stamp = tuple[int, float]  # a file's (size, modification time)


@dataclass
class Workspace:
    root: Path
    dataset: Dataset
    catalog: Catalog
    problems: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)  # ids whose files read now, sorted

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def live_ids(self) -> list[str]:
        """Readable episodes that are not soft-deleted: what stats, splits and exports use."""
        return [i for i in self.readable if not self.catalog.is_deleted(i)]

    def require(self, episode_id: str) -> EpisodeFacts:
        """Facts of an episode the command may act on (unknown ids are a usage error)."""
        return self.catalog.require(episode_id)

    def add_trim(self, episode_id: str, start: float, end: float) -> int:
        """Trim the samples whose tick time lies in [start, end) seconds (one undoable edit)."""
        self.require(episode_id)
        if episode_id not in self.readable:
            raise ValueError(f"episode {episode_id} cannot be read now; it cannot be trimmed")
        with self.dataset.open(episode_id) as ep:
            time = np.asarray(ep.time, dtype=float)
        a, b = samples_in(time, start, end)
        return self.catalog.add_trim(episode_id, start, end, a, b)

    def move_trim(self, trim_id: int, start: float, end: float) -> None:
        """Move a trim's ends to [start, end) seconds, sample indices from the tick times (one edit)."""
        trim = next((t for t in self.catalog.trims() if t.id == trim_id), None)
        if trim is None:
            raise ValueError(f"unknown trim id {trim_id}")
        with self.dataset.open(trim.episode_id) as ep:
            time = np.asarray(ep.time, dtype=float)
        self.catalog.move_trim(trim_id, start, end, *samples_in(time, start, end))


@dataclass
class FileScan:
    """The episode files of a dataset against its catalog, from a stat of each (no file opened)."""

    known: list[str]  # facts cached and the file unchanged since
    unseen: dict[str, Stamp]  # new or changed files: id → stamp, facts still to read
    missing: list[str]  # in the catalog, but no file (their curation is kept)


def scan_files(dataset: Dataset, catalog: Catalog) -> FileScan:
    cached = catalog.cached_file_stamps()
    stale = set(catalog.unfingerprinted_ids())  # read once more, to take the fingerprint that binds them
    known: list[str] = []
    unseen: dict[str, Stamp] = {}
    for eid in dataset.file_ids():
        try:
            st = dataset.path(eid).stat()
        except OSError:
            continue  # removed since the folder was listed
        stamp = (int(st.st_size), float(st.st_mtime))
        if cached.get(eid) == stamp and eid not in stale:
            known.append(eid)
        else:
            unseen[eid] = stamp
    present = set(dataset.file_ids())
    return FileScan(known, unseen, sorted(set(cached) - present))


def import_facts(dataset: Dataset, catalog: Catalog, stamps: dict[str, Stamp]) -> tuple[list[str], list[str]]:
    """Read the facts of these files into the catalog (one transaction); returns (readable ids, problems)."""
    facts: list[EpisodeFacts] = []
    problems: list[str] = []
    for eid, stamp in stamps.items():
        try:
            facts.append(read_facts(dataset, eid, stamp))
        except EpisodeFileError as exc:
            problems.append(str(exc))
        except READ_ERRORS as exc:
            problems.append(f"{eid}: unreadable, skipped ({type(exc).__name__}: {exc})")
    catalog.sync(facts)
    return [f.id for f in facts], problems


def open_workspace(root: str | Path) -> Workspace:
    root = Path(root)
    dataset = open_dataset(root)
    catalog = Catalog.open(root)
    try:
        scan = scan_files(dataset, catalog)
        readable, problems = import_facts(dataset, catalog, scan.unseen)
        problems = list(dataset.recovery.problems) + problems
        problems += [f"{eid}: in the catalog but its file is missing; its curation is kept" for eid in scan.missing
                     if not any(p.startswith(eid) for p in problems)]
        return Workspace(root, dataset, catalog, problems, sorted(scan.known + readable))
    except BaseException:
        catalog.close()
        raise


def samples_in(time: np.ndarray, start: float, end: float) -> tuple[int, int]:
    """[a, b): the samples whose tick time lies in [start, end) (1 µs tolerance for float times)."""
    return int(np.searchsorted(time, start - 1e-6)), int(np.searchsorted(time, end - 1e-6))


def duration_after(last_time: float | None, rate_hz: float) -> float:
    """Seconds an episode covers: its last tick time plus one period (gaps from missed ticks count); None: no tick."""
    if last_time is None:
        return 0.0
    return last_time + (1.0 / rate_hz if rate_hz > 0 else 0.0)


def read_facts(dataset: Dataset, eid: str, stamp: Stamp) -> EpisodeFacts:
    """An episode's facts for the catalog: six root attributes and the last tick time, no array read whole."""
    with dataset.open(eid) as ep:
        rate = ep.rate_hz
        duration = duration_after(ep.last_time, rate)
        if not (math.isfinite(duration) and math.isfinite(rate)):  # the catalog would store NULL and refuse
            raise ValueError("its last tick time or its rate is not a finite number (demostation validate lists it)")
        return EpisodeFacts(id=eid, samples=len(ep), rate_hz=float(rate), task=ep.task, device=ep.device,
                            complete=ep.complete, station_success=ep.success, file_size=stamp[0],
                            file_mtime=stamp[1], duration=duration, tags=_file_tags(ep.attr("tags")),
                            fingerprint=file_fingerprint(dataset.path(eid)))


def _file_tags(value: object) -> tuple[str, ...]:
    """The episode's ``tags`` attribute as tag names (a malformed one is ignored, never fatal)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(str(t).strip() for t in value if isinstance(t, str) and t.strip())
