"""Where training meets curation's catalog: find the catalog for a dataset, as a `CurationView`.

The catalog (``DATASET/catalog.sqlite``) belongs to `curation`; training only needs the few
answers `policy.selection.CurationView` names. This module is the one place that knows how to get
them from the catalog, so a change on either side is a change here only.
"""

from __future__ import annotations

from pathlib import Path

from policy.selection import CurationView

CATALOG_NAME = "catalog.sqlite"


def curation_for(dataset_root: str | Path) -> CurationView | None:
    """The dataset's curation, or None when it has no catalog (every sample of every episode is used)."""
    path = Path(dataset_root) / CATALOG_NAME
    if not path.exists():
        return None
    try:
        from curation.catalog import Catalog  # noqa: F401  (curation is optional at import time)
    except ImportError:
        raise ValueError(f"{path} exists but this build has no curation package to read it; "
                         "training without it would ignore deletes and trims") from None
    raise ValueError(f"{path}: this build's policy package cannot read curation's catalog yet")
