"""Errors a recording can end with; each message is one line that says what happened and what to do."""

from __future__ import annotations


class RecordingError(RuntimeError):
    """The recording stopped: the message says why and what was kept."""


class DiskFullError(RecordingError):
    """The disk filled up; everything written before the failing write is intact and readable."""
