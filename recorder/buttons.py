"""Device buttons drive the recording session: record, stop, discard, mark a recovery.

An operator's hands are on the device, so its buttons (`devices.teleop.ButtonAction`, documented
in docs/devices.md) control the recording. `SessionButtons.handle` is safe to call from any thread
(a teleop pump, the control loop reading a replay): it never blocks on disk work — stop and discard
are requests the session honours at its next tick, and a start is either done by ``start`` (live:
the caller's own way to open an episode) or left as a request for the loop that owns the session
(headless recording polls `take_start_request`).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable

from recorder.errors import RecordingError
from recorder.session import RecordingSession

RECOVERY_MARK = "recovery"


class SessionButtons:
    def __init__(self, session: RecordingSession, start: Callable[[], object] | None = None,
                 device: str = "") -> None:
        self.session = session
        self.device = device
        self._start = start
        self._start_requested = threading.Event()
        self.errors: list[str] = []  # a start that failed (one line each); the operator keeps control
        self._actions: dict[str, Callable[[], None]] = {
            "record": self._record,
            "stop": self._stop,
            "discard": self._discard,
            "mark_recovery": self._mark_recovery,
            "record_toggle": self._toggle,
        }

    def handle(self, action: str) -> None:
        """Act on one button action (names as in `ButtonAction`); others are ignored (mapper actions)."""
        do = self._actions.get(str(action))
        if do is not None:
            do()

    def take_start_request(self) -> bool:
        """True once per record press made while no episode was open (for a loop that starts episodes)."""
        if self._start_requested.is_set():
            self._start_requested.clear()
            return True
        return False

    # -- the actions -------------------------------------------------------------------------------
    def _record(self) -> None:
        if self.session.active:
            return
        if self._start is None:
            self._start_requested.set()
            return
        try:
            self._start()
        except Exception as exc:  # noqa: BLE001 - a device button never crashes the device's reader; the error is reported
            self.errors.append(f"record: {type(exc).__name__}: {' '.join(str(exc).split())}")

    def _stop(self) -> None:
        if self.session.active:
            self.session.request_stop()

    def _discard(self) -> None:
        if self.session.active:
            self.session.request_discard()

    def _toggle(self) -> None:
        (self._stop if self.session.active else self._record)()

    def _mark_recovery(self) -> None:
        if self.session.active:
            with contextlib.suppress(RecordingError):  # the episode ended between the check and the mark
                self.session.mark_event(RECOVERY_MARK, label=f"marked on {self.device}" if self.device else "marked")
