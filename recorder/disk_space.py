"""Free space checked before an HDF5 file is written, not discovered by the write.

HDF5 does not survive ENOSPC gracefully: a write that fails leaves object ids that h5py cannot
release, and closing the file can crash the process ("Can't decrement id ref count", then a
segfault). So every writer of a large HDF5 file asks first whether what it is about to write fits,
with a margin for HDF5's own metadata, and stops with one line while the file is still sound.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from recorder.errors import NoSpaceError

METADATA_MARGIN_BYTES = 4 << 20  # HDF5's superblock, B-trees and the metadata cache flushed at close


def free_bytes(folder: str | Path) -> int:
    return shutil.disk_usage(folder).free


def require_free_space(folder: str | Path, needed_bytes: int, what: str,
                       margin_bytes: int = METADATA_MARGIN_BYTES) -> None:
    """Raise `NoSpaceError` unless ``needed_bytes`` plus the metadata margin fit in ``folder``.

    ``margin_bytes``: a caller that knows its file's metadata better (an episode finalised from its
    journal, measured) passes a tighter margin.
    """
    free = free_bytes(folder)
    if free < needed_bytes + margin_bytes:
        raise NoSpaceError(f"disk full: {what} needs about {_mb(needed_bytes + margin_bytes)} in "
                           f"{folder} and {_mb(free)} is free; free space and run again")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
