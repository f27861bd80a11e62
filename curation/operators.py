"""Episodes per operator: who demonstrated how much of a dataset (the Record panel's counts).

The operator's name is in every episode file's root attributes (the recorder writes it, see
docs/dataset-format.md); the catalog does not copy it, so this reads that one attribute of each
file (about a millisecond each, no array), skipping files that cannot be read and episodes the
catalog has soft-deleted when a catalog is given.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable

from curation.source import READ_ERRORS, open_dataset

UNNAMED = "(no operator)"


def operator_counts(root: str | Path, is_deleted: Callable[[str], bool] | None = None) -> dict[str, int]:
    """{operator: episodes} over the dataset's episode files, most episodes first."""
    dataset = open_dataset(root)
    counts: Counter[str] = Counter()
    for eid in dataset.file_ids():
        if is_deleted is not None and is_deleted(eid):
            continue
        try:
            with dataset.open(eid) as ep:
                name = ep.operator.strip()
        except READ_ERRORS:
            continue
        counts[name or UNNAMED] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
