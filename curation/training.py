"""What a trainer takes from curation: the live episodes, each with its kept-sample mask.

Policy windows are drawn from kept samples only (applied trims removed) of episodes that are not
soft-deleted; each episode carries its outcome and split subset so the trainer decides, by its own
settings, whether failures train and which episodes validate. A dataset never curated reads as
all episodes, all samples kept, outcomes from the station's success check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.workspace import open_workspace


@dataclass(frozen=True)
class TrainingEpisode:
    id: str
    kept: np.ndarray  # (T,) bool: samples policy windows may use
    segments: tuple[tuple[int, int], ...]  # contiguous kept [start, end) ranges (windows must not straddle a cut)
    outcome: str  # success | failure | unknown
    subset: str | None  # train | valid | None when no split is stored
    tags: tuple[str, ...] = ()


def training_episodes(root: str | Path) -> tuple[list[TrainingEpisode], list[str]]:
    """The live episodes of the dataset at ``root`` and the problems met (unreadable files)."""
    with open_workspace(root) as ws:
        split = ws.catalog.split()
        out = []
        for eid in ws.live_ids():
            rec = ws.catalog.record(eid)
            out.append(TrainingEpisode(
                id=eid, kept=ws.catalog.kept_mask(eid), segments=tuple(ws.catalog.kept_segments(eid)),
                outcome=rec.outcome, subset=split.assignment.get(eid) if split else None,
                tags=tuple(sorted({t.tag for t in rec.tags}))))
        return out, list(ws.problems)
