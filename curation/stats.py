"""Statistics per episode and per dataset: what a curator checks before training.

Figures are computed from the raw commanded actions and the catalog (trims, outcomes, tags), so
they always describe what a policy would be trained on: "kept" figures honour applied trims,
dataset totals leave soft-deleted episodes out (and count them). The pause fraction is measured
by the pause detector with the given settings, whether or not its proposals were applied, so a
curator sees how idle the data is before deciding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from curation.pauses import PauseSettings, detect_pauses
from curation.source import READ_ERRORS, EpisodeActions, load_actions
from curation.workspace import Workspace
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

ACTION_NAMES = ("x", "y", "z", "qw", "qx", "qy", "qz", "gripper")


@dataclass(frozen=True)
class EpisodeStats:
    id: str
    task: str
    device: str
    outcome: str
    deleted: bool
    complete: bool
    samples: int
    duration_s: float
    kept_samples: int
    kept_duration_s: float
    pause_s: float
    pause_fraction: float
    path_length_m: float  # commanded position path over kept samples (steps across a cut excluded)
    action_min: list[float]
    action_max: list[float]
    tags: list[str]
    source_samples: dict[str, int]  # samples per producing device (action/source)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["action_range"] = {n: [lo, hi] for n, lo, hi in zip(ACTION_NAMES, self.action_min, self.action_max, strict=True)}
        del d["action_min"], d["action_max"]
        return d


@dataclass
class DatasetStats:
    episodes: list[EpisodeStats] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    settings: PauseSettings = field(default_factory=PauseSettings)

    def summary(self) -> dict:
        live = [e for e in self.episodes if not e.deleted]
        duration = sum(e.duration_s for e in live)
        kept = sum(e.kept_duration_s for e in live)
        pauses = sum(e.pause_s for e in live)
        tag_counts = Counter(t for e in live for t in set(e.tags))
        sources: Counter[str] = Counter()
        for e in live:
            sources.update(e.source_samples)
        if live:
            lo = np.min([e.action_min for e in live if e.samples], axis=0) if any(e.samples for e in live) else None
            hi = np.max([e.action_max for e in live if e.samples], axis=0) if any(e.samples for e in live) else None
        else:
            lo = hi = None
        return {
            "episodes": len(live),
            "deleted": len(self.episodes) - len(live),
            "unreadable": len(self.problems),
            "samples": sum(e.samples for e in live),
            "kept_samples": sum(e.kept_samples for e in live),
            "duration_s": duration,
            "kept_duration_s": kept,
            "mean_duration_s": duration / len(live) if live else 0.0,
            "pause_s": pauses,
            "pause_fraction": pauses / duration if duration else 0.0,
            "path_length_m": sum(e.path_length_m for e in live),
            "action_range": ({n: [float(a), float(b)] for n, a, b in zip(ACTION_NAMES, lo, hi, strict=True)}
                             if lo is not None else {}),
            "outcomes": dict(Counter(e.outcome for e in live)),
            "tags": dict(sorted(tag_counts.items())),
            "devices": dict(Counter(e.device for e in live)),
            "source_samples": dict(sources),
            "tasks": dict(Counter(e.task for e in live)),
            "incomplete": sum(not e.complete for e in live),
            "pause_settings": asdict(self.settings),
            "per_episode": [e.as_dict() for e in self.episodes],
            "problems": self.problems,
        }


def episode_stats(ep: EpisodeActions, kept: np.ndarray, outcome: str, deleted: bool, tags: list[str],
                  settings: PauseSettings = PauseSettings()) -> EpisodeStats:
    """Figures for one episode from its actions and its kept-sample mask."""
    n = len(ep)
    seconds = ep.sample_seconds
    pause_s = sum(s.duration for s in detect_pauses(ep.time, ep.pose, ep.gripper, settings)) if n else 0.0
    pos = ep.pose[:, :3]
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1) if n > 1 else np.zeros(0)
    both_kept = kept[1:] & kept[:-1] if n > 1 else np.zeros(0, bool)
    action = ep.action[kept]
    if len(action):
        lo, hi = action.min(axis=0).tolist(), action.max(axis=0).tolist()
    else:
        lo = hi = [float("nan")] * len(ACTION_NAMES)
    source_samples: dict[str, int] = {}
    if ep.source_index is not None and len(ep.source_index) == n:
        for idx, count in zip(*np.unique(ep.source_index, return_counts=True), strict=True):
            name = ep.source_names[idx] if idx < len(ep.source_names) else f"source-{int(idx)}"
            source_samples[name] = int(count)
    else:
        source_samples[ep.device] = n
    return EpisodeStats(
        id=ep.id, task=ep.task, device=ep.device, outcome=outcome, deleted=deleted, complete=ep.complete,
        samples=n, duration_s=ep.duration, kept_samples=int(kept.sum()), kept_duration_s=float(seconds[kept].sum()),
        pause_s=pause_s, pause_fraction=pause_s / ep.duration if ep.duration > 0 else 0.0,
        path_length_m=float(steps[both_kept].sum()), action_min=lo, action_max=hi, tags=sorted({*tags}),
        source_samples=source_samples)


def dataset_stats(ws: Workspace, settings: PauseSettings = PauseSettings(), episode_ids: list[str] | None = None,
                  progress: Progress = no_progress, should_stop: ShouldStop = never_stop,
                  on_episode: Callable[[EpisodeStats], None] | None = None) -> DatasetStats:
    """Statistics of every readable episode (deleted ones too, flagged; totals leave them out).

    ``on_episode`` receives each episode's figures as soon as they are known, so a view can fill
    its columns progressively instead of waiting for the whole dataset.
    """
    settings.validate()
    if episode_ids is not None:
        for eid in episode_ids:
            ws.require(eid)
    ids = ws.readable if episode_ids is None else [i for i in episode_ids if i in ws.readable]
    out = DatasetStats(problems=list(ws.problems), settings=settings)
    for k, eid in enumerate(ids):
        check_stop(should_stop)
        progress(k, len(ids), f"statistics of {eid}")
        record = ws.catalog.record(eid)
        try:
            ep = load_actions(ws.dataset, eid)
            kept = ws.catalog.kept_mask(eid)
            if len(kept) != len(ep):
                raise ValueError(f"catalog says {len(kept)} samples, file has {len(ep)}")
            figures = episode_stats(ep, kept, record.outcome, record.deleted, [t.tag for t in record.tags], settings)
            out.episodes.append(figures)
            if on_episode is not None:
                on_episode(figures)
        except READ_ERRORS as exc:
            out.problems.append(f"{eid}: skipped ({type(exc).__name__}: {exc})")
    progress(len(ids), len(ids), "done")
    return out
