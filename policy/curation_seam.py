"""Where training meets curation's catalog: the dataset's curation as a `CurationView`.

The catalog (``DATASET/catalog.sqlite``) belongs to `curation`; training needs only the answers
`policy.selection.CurationView` names, and curation hands them over in one call,
`curation.training.training_episodes` (live episodes with kept masks, outcome, split subset and
tags). This adapter is the only place that knows both sides, so a change on either is a change
here only. A dataset with no catalog has never been curated: every sample of every episode is
used (and training does not create a catalog in someone's dataset).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from policy.selection import CurationView

CATALOG_NAME = "catalog.sqlite"
_OUTCOMES = {"success": True, "failure": False}


class CatalogCuration:
    """Curation's training view, answering the `CurationView` questions."""

    def __init__(self, episodes: list) -> None:
        self._episodes = {e.id: e for e in episodes}

    def kept_mask(self, episode_id: str, length: int) -> np.ndarray | None:
        ep = self._episodes.get(episode_id)
        if ep is None:  # soft-deleted (curation lists live episodes only)
            return None
        mask = np.asarray(ep.kept, dtype=bool)
        if mask.shape != (length,):
            raise ValueError(f"the catalog knows {episode_id} with {mask.shape[0]} samples, its file has {length}; "
                             "open the dataset with `demostation curate` to refresh the catalog")
        return mask

    def tags(self, episode_id: str) -> frozenset[str]:
        ep = self._episodes.get(episode_id)
        return frozenset(ep.tags) if ep is not None else frozenset()

    def outcome(self, episode_id: str) -> bool | None:
        ep = self._episodes.get(episode_id)
        return _OUTCOMES.get(ep.outcome) if ep is not None else None

    def subset(self, episode_id: str) -> str | None:
        ep = self._episodes.get(episode_id)
        return ep.subset if ep is not None else None


def curation_for(dataset_root: str | Path) -> CurationView | None:
    """The dataset's curation, or None when it has no catalog."""
    root = Path(dataset_root)
    if not (root / CATALOG_NAME).exists():
        return None
    from curation.training import training_episodes

    episodes, _problems = training_episodes(root)  # unreadable files are skipped by the reader too
    return CatalogCuration(episodes)
