"""A dataset opened for curation: the read-only episodes plus their catalog, kept in step.

Every curation command starts here. Opening scans the episodes (through the contract reader),
refreshes the catalog's cached facts for files it has not seen or that changed (a stat decides, so
a large dataset opens quickly), and collects one line per problem: a corrupt or half-written file
is reported and skipped, never fatal to a command over the whole dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.catalog import Catalog, EpisodeFacts
from curation.source import READ_ERRORS, Dataset, open_dataset


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


def open_workspace(root: str | Path) -> Workspace:
    root = Path(root)
    dataset = open_dataset(root)
    catalog = Catalog.open(root)
    try:
        problems = list(dataset.problems())
        facts: list[EpisodeFacts] = []
        readable: list[str] = []
        for eid in dataset.episode_ids():
            path = root / "episodes" / f"{eid}.h5"
            try:
                st = path.stat()
                stamp = (int(st.st_size), float(st.st_mtime))
                if catalog.cached_file_stamp(eid) != stamp:
                    facts.append(_read_facts(dataset, eid, stamp))
                readable.append(eid)
            except READ_ERRORS as exc:
                problems.append(f"{eid}: unreadable, skipped ({type(exc).__name__}: {exc})")
        catalog.sync(facts)
        for eid in catalog.known_ids():
            if eid not in readable and not any(p.startswith(eid) for p in problems):
                problems.append(f"{eid}: in the catalog but its file is missing; its curation is kept")
        return Workspace(root, dataset, catalog, problems, readable)
    except BaseException:
        catalog.close()
        raise


def samples_in(time: np.ndarray, start: float, end: float) -> tuple[int, int]:
    """[a, b): the samples whose tick time lies in [start, end) (1 µs tolerance for float times)."""
    return int(np.searchsorted(time, start - 1e-6)), int(np.searchsorted(time, end - 1e-6))


def episode_duration(time: np.ndarray, rate_hz: float) -> float:
    """Seconds an episode covers: its last tick time plus one period (gaps from missed ticks count)."""
    if len(time) == 0:
        return 0.0
    return float(time[-1]) + (1.0 / rate_hz if rate_hz > 0 else 0.0)


def _read_facts(dataset: Dataset, eid: str, stamp: tuple[int, float]) -> EpisodeFacts:
    with dataset.open(eid) as ep:
        success = ep.attrs.get("success")
        time = np.asarray(ep.time, dtype=float)
        return EpisodeFacts(id=eid, samples=len(time), rate_hz=float(ep.rate_hz), task=str(ep.task),
                            device=str(ep.device), complete=bool(ep.complete),
                            station_success=None if success is None else bool(success),
                            file_size=stamp[0], file_mtime=stamp[1], duration=episode_duration(time, ep.rate_hz),
                            tags=_file_tags(ep.attrs.get("tags")))


def _file_tags(value: object) -> tuple[str, ...]:
    """The episode's ``tags`` attribute as tag names (a malformed one is ignored, never fatal)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(str(t).strip() for t in value if isinstance(t, str) and t.strip())
