"""Errors a recording can end with; each message is one line that says what happened and what to do."""

from __future__ import annotations

import errno


class RecordingError(RuntimeError):
    """The recording stopped: the message says why and what was kept."""


class UnwritableDatasetError(RecordingError):
    """The dataset's folder refuses new files (read-only, no permission): nothing was written."""


class DiskFullError(RecordingError):
    """The disk filled up; everything written before the failing write is intact and readable."""


class NoSpaceError(OSError):
    """The disk is full (ENOSPC) outside a recording: the message says what was left untouched and
    what to do. An `OSError` with the errno set, so callers that test for ENOSPC see it as one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOSPC
