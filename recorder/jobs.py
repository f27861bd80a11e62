"""The contract for long work: plain functions that report progress and can be stopped.

Training, evaluation, export and pause detection take ``progress`` and ``should_stop`` callables
and raise `Cancelled` when asked to stop, so the GUI runs them in a worker through one adapter and
the command line runs them directly — no Qt in the core.
"""

from __future__ import annotations

from typing import Callable, Protocol


class Cancelled(Exception):
    """The caller asked the job to stop; partial results were kept where that makes sense."""


class Progress(Protocol):
    def __call__(self, done: int, total: int, message: str = "") -> None: ...


ShouldStop = Callable[[], bool]


def no_progress(done: int, total: int, message: str = "") -> None:
    """Default progress sink."""


def never_stop() -> bool:
    return False


def check_stop(should_stop: ShouldStop) -> None:
    if should_stop():
        raise Cancelled("stopped by request")
