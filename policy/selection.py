"""Which episodes and which samples of them training uses: the seam to curation.

Curation keeps tags, outcomes, trims and soft deletes in its catalog, never in the raw files.
Training needs exactly three answers from it per episode, given here as the `CurationView`
protocol, so the catalog's own API can change freely and the glue stays one small adapter:

- ``kept_mask(id, length)`` → which samples survive the trims (``None`` if the episode is deleted);
- ``tags(id)`` → its tags;
- ``outcome(id)`` → True (success), False (failure) or None (unknown: fall back to the file);
- ``subset(id)`` → "train" or "valid" if the curator fixed a split, else None.

`EpisodeFilter` then selects by tag, outcome and task. Without a catalog, `RawEpisodes` keeps
every sample of every episode.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Iterator, Mapping, Protocol

import numpy as np

from recorder.scene import episode_scene, known_perturbations, parse_conditions, scene_matches


class EpisodeLike(Protocol):
    """What selection reads of an episode (`recorder.dataset.Episode` provides it)."""

    id: str
    attrs: dict
    task: str

    def __len__(self) -> int: ...


class DatasetLike(Protocol):
    """The reader contract of docs/dataset-format.md (`recorder.dataset.Dataset` implements it)."""

    def episode_ids(self) -> list[str]: ...

    def open(self, episode_id: str) -> "EpisodeLike": ...


class CurationView(Protocol):
    def kept_mask(self, episode_id: str, length: int) -> np.ndarray | None: ...

    def tags(self, episode_id: str) -> frozenset[str]: ...

    def outcome(self, episode_id: str) -> bool | None: ...

    def subset(self, episode_id: str) -> str | None: ...


class RawEpisodes:
    """No catalog: every sample of every episode is kept, there are no tags, outcomes come from the file."""

    def kept_mask(self, episode_id: str, length: int) -> np.ndarray | None:
        return np.ones(length, dtype=bool)

    def tags(self, episode_id: str) -> frozenset[str]:
        return frozenset()

    def outcome(self, episode_id: str) -> bool | None:
        return None

    def subset(self, episode_id: str) -> str | None:
        return None


OUTCOMES = ("success", "failure", "unknown")


@dataclass(frozen=True)
class EpisodeFilter:
    """Select episodes: any of ``include_tags`` (if given), none of ``exclude_tags``, an outcome
    in ``outcomes`` (if given: success / failure / unknown), a task in ``tasks`` (if given), and
    every scene condition in ``where`` (``object_color>=0.25``: `recorder.scene`) on the
    perturbations the episode was recorded with."""

    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    where: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bad = [o for o in self.outcomes if o not in OUTCOMES]
        if bad:
            raise ValueError(f"unknown outcome {bad[0]!r}; use one of {', '.join(OUTCOMES)}")
        parse_conditions(self.where, known_perturbations())

    def accepts(self, tags: frozenset[str], outcome: bool | None, task: str,
                scene: Mapping[str, float] | None = None) -> bool:
        if self.where and not scene_matches(scene or {}, parse_conditions(self.where)):
            return False
        if self.include_tags and not tags.intersection(self.include_tags):
            return False
        if tags.intersection(self.exclude_tags):
            return False
        label = "unknown" if outcome is None else ("success" if outcome else "failure")
        if self.outcomes and label not in self.outcomes:
            return False
        return not self.tasks or task in self.tasks

    def as_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SelectedEpisode:
    """One episode as training sees it: the indices (into the file) of its kept samples, in order."""

    id: str
    task: str
    kept: np.ndarray
    length: int  # samples in the file
    start_time: str = ""  # when it was recorded: ids can repeat across datasets, this cannot
    subset: str | None = None  # the curator's split ("train" / "valid"), if any
    has_command: bool = False  # the file stores the source's request beside the applied action

    @property
    def n_kept(self) -> int:
        return int(len(self.kept))


@dataclass
class Selection:
    episodes: list[SelectedEpisode]
    skipped: dict[str, str]  # episode id → why it is not used

    def __iter__(self) -> Iterator[SelectedEpisode]:
        return iter(self.episodes)

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def samples(self) -> int:
        return sum(e.n_kept for e in self.episodes)


def recorded_outcome(episode: EpisodeLike) -> bool | None:
    success = episode.attrs.get("success")
    return None if success is None else bool(success)


def select_episodes(dataset: DatasetLike, curation: CurationView | None = None,
                    episode_filter: EpisodeFilter | None = None, min_samples: int = 1,
                    unusable: Callable[[DatasetLike, str], str | None] | None = None) -> Selection:
    """Apply soft deletes, trims and the filter. Unusable episodes are skipped with a reason.

    ``unusable(dataset, id)`` says why an episode's data cannot be used (the trainer passes
    validate's `recorder.validate.unusable_reason`); such an episode is skipped with that reason.
    """
    curation = curation or RawEpisodes()
    episode_filter = episode_filter or EpisodeFilter()
    chosen: list[SelectedEpisode] = []
    skipped: dict[str, str] = {}
    for eid in dataset.episode_ids():
        with dataset.open(eid) as ep:
            n = len(ep)
            task = str(ep.task)
            mask = curation.kept_mask(eid, n)
            if mask is None:
                skipped[eid] = "deleted"
                continue
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (n,):
                raise ValueError(f"curation's kept mask for {eid} has shape {mask.shape}, the episode has {n} samples")
            outcome = curation.outcome(eid)
            if outcome is None:
                outcome = recorded_outcome(ep)
            scene = episode_scene(ep.attrs.get) if episode_filter.where else None
            if not episode_filter.accepts(curation.tags(eid), outcome, task, scene):
                skipped[eid] = "filtered out"
                continue
            why = unusable(dataset, eid) if unusable is not None else None
            if why is not None:
                skipped[eid] = f"unusable: {why}"
                continue
            kept = np.flatnonzero(mask)
            if len(kept) < min_samples:
                skipped[eid] = f"only {len(kept)} kept samples"
                continue
            subset = curation.subset(eid)
            if subset not in (None, "train", "valid"):
                raise ValueError(f"curation puts {eid} in subset {subset!r}; expected train or valid")
            chosen.append(SelectedEpisode(eid, task, kept, n, str(ep.attrs.get("start_time", "")), subset,
                                          bool(getattr(ep, "has_command", False))))
    return Selection(chosen, skipped)


def resolve_action_label(label: str, episodes: Iterable[SelectedEpisode]) -> str:
    """``auto`` → ``command`` when every episode stores the source's request, else ``applied``."""
    if label != "auto":
        return label
    return "command" if all(e.has_command for e in episodes) else "applied"


def fingerprint(selection: Iterable[SelectedEpisode], extra: dict | None = None) -> str:
    """A short hash naming exactly the samples trained on (episode ids, lengths, kept indices).

    Episode files are immutable once finalised, so ids + start times + kept samples identify the
    data; a changed trim, delete or filter gives a different fingerprint.
    """
    h = hashlib.sha256()
    for e in selection:
        h.update(f"{e.id}:{e.length}:{e.task}:{e.start_time}:".encode())
        h.update(np.asarray(e.kept, dtype=np.int64).tobytes())
    h.update(json.dumps(extra or {}, sort_keys=True).encode())
    return h.hexdigest()[:16]
