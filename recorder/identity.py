"""Who a dataset is, and what an episode file holds, cheaply: what ties a catalog to its dataset.

Episode ids (``ep_000003``) repeat in every dataset, so a curation catalog copied from one dataset
into another would apply its deletes, outcomes and trims to unrelated recordings. Two facts stop
that:

- ``DATASET/dataset.json`` holds a random ``dataset_id``, generated once (the first time anything
  asks for it) and never changed; a catalog records the id it belongs to.
- an episode file's fingerprint: its size and a SHA-256 of its first 64 KiB (the HDF5 superblock
  and root metadata, which hold the start time and attributes). Finalised episodes are never
  rewritten, so a catalog that knows ``ep_000003`` by another fingerprint describes another file.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

DATASET_FILE = "dataset.json"
DATASET_FORMAT = "demostation-dataset"
FINGERPRINT_BYTES = 64 * 1024
_MAX_FILE_BYTES = 64 * 1024  # dataset.json is a few dozen bytes; anything bigger is not ours


def dataset_id(root: str | Path, create: bool = True) -> str | None:
    """The id of the dataset at ``root``; generated and stored on first use when ``create``.

    Creation is race-free: the file is written aside and hard-linked into place, so two processes
    opening a new dataset at once agree on one id. Raises ValueError (one line) for a damaged file.
    """
    path = Path(root) / DATASET_FILE
    existing = _read(path)
    if existing is not None or not create:
        return existing
    tmp = path.with_name(f".{DATASET_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps({"format": DATASET_FORMAT, "dataset_id": uuid.uuid4().hex}) + "\n")
    except PermissionError:
        raise PermissionError(f"{path.parent} is read-only: its identity file {DATASET_FILE} cannot be created; "
                              "fix the folder's permissions or copy the dataset somewhere writable") from None
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won: use its id
    finally:
        tmp.unlink(missing_ok=True)
    found = _read(path)
    if found is None:  # removed between the link and the read: only by hand
        raise ValueError(f"{path} vanished while it was being created; open the dataset again")
    return found


def _read(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(raw) if len(raw) <= _MAX_FILE_BYTES else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        doc = None
    value = doc.get("dataset_id") if isinstance(doc, dict) and doc.get("format") == DATASET_FORMAT else None
    if not (isinstance(value, str) and 0 < len(value) <= 64):
        raise ValueError(f"{path} is not a Demo Station dataset identity file (damaged?); "
                         "move it aside and open the dataset again to give it a new id")
    return value


def file_fingerprint(path: str | Path) -> str:
    """``size:sha256(first 64 KiB)[:16]`` of an episode file (one small read)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(FINGERPRINT_BYTES)
    return f"{size}:{hashlib.sha256(head).hexdigest()[:16]}"
