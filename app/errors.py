"""Errors the command line turns into exit statuses with one line of text."""

from __future__ import annotations


class UsageError(Exception):
    """Bad usage or bad input: exit status 2. The message says what is wrong and what to do."""


class JobError(Exception):
    """The job itself failed: exit status 1."""
