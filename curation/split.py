"""A seeded train/validation split by episode.

Splitting by episode (never by sample) keeps validation windows from overlapping training ones.
The assignment is a seeded permutation of the sorted episode ids, so the same ids, fraction and
seed always give the same split on any machine; it is stored in the catalog (one undoable edit)
so training and export read the split that was reviewed, not a fresh one.
"""

from __future__ import annotations

import numpy as np

from curation.workspace import Workspace


def make_split(episode_ids: list[str], val_fraction: float, seed: int) -> dict[str, str]:
    """episode id → "train" | "valid". At least one validation episode when the fraction is
    positive and there are two or more episodes, and never all of them."""
    if not np.isfinite(val_fraction) or not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), got {val_fraction}")
    ids = sorted(set(episode_ids))
    n = len(ids)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    order = np.random.default_rng(int(seed)).permutation(n)
    valid = {ids[i] for i in order[:n_val]}
    return {i: ("valid" if i in valid else "train") for i in ids}


def split_dataset(ws: Workspace, val_fraction: float, seed: int) -> dict[str, str]:
    """Split the live (readable, not deleted) episodes and store the split in the catalog."""
    ids = ws.live_ids()
    if not ids:
        raise ValueError(f"{ws.root} has no episodes to split")
    assignment = make_split(ids, val_fraction, seed)
    ws.catalog.set_split(assignment, seed, val_fraction)
    return assignment
