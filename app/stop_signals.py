"""Ctrl+C and SIGTERM as a request to stop a long command gracefully, not to kill it.

A training run interrupted mid-step by Python's default ``KeyboardInterrupt`` loses everything
since its last periodic checkpoint. `GracefulStop` turns the FIRST SIGINT/SIGTERM into a flag the
job polls through its ``should_stop`` callable (the long-work contract, recorder/jobs.py): the job
finishes the step it is on, saves, and raises `recorder.jobs.Cancelled`. A SECOND signal means
"now": the previous handlers come back and ``KeyboardInterrupt`` aborts at once.

The GUI's Train panel stops a run by sending SIGINT to its process, exactly as an engineer's
Ctrl+C would; the command then exits with `EXIT_STOPPED`, which the panel shows as "stopped".
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Callable

# Exit status of a command stopped on request after saving its work: 128 + SIGINT, as a shell
# reports a Ctrl+C, so scripts can tell "stopped" (130) from "finished" (0) and "failed" (1).
EXIT_STOPPED = 130

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """Context manager: while active, the first stop signal sets `requested`; the second aborts.

    Use the instance itself as ``should_stop``. Handlers can only be installed from the main
    thread; elsewhere (a test calling the command in a worker thread) it installs nothing and
    never requests a stop.
    """

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        self._event = threading.Event()
        self._previous: dict[int, object] = {}
        self._announce = announce or _to_stderr
        self.signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            self._restore()
            raise KeyboardInterrupt  # the second signal: abort now, unsaved work is lost
        self._event.set()
        self.signal_name = signal.Signals(signum).name
        self._announce(f"{self.signal_name}: stopping after the current step and saving a checkpoint "
                       "(send it again to abort at once)")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
