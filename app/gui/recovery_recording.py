"""Recording the operator's take-overs in the Run panel as ``recovery`` episodes.

The core does the recording: `policy.runtime.takeover.ControlArbiter` asks its recorder for a new
episode tagged ``recovery`` when the operator takes over and stops it on hand-back, and
`recorder.takeover_recording.SessionRecoveryRecorder` is that recorder over a `RecordingSession`. Here that
session is built over the live station (`app.gui.recording.live_session`): its command source is
`recorder.takeover_recording.TakeoverRecordingSource` (it names who commands), its path `SafetyPath(controller,
drive=False)` (it records what the runtime's controller applied), and it ticks on its own thread.

One thing is added, and only because of where the arbiter runs: it switches on the runtime's 100 Hz
control thread, and opening an episode file or finalising one takes far longer than a 10 ms tick.
`OffControlThread` hands ``start`` / ``stop`` to one background thread, in order, and reports what
became of them through Qt signals — a failure to record never delays the operator's control. Its
``stop`` asks the episode to end at once (an event, no waiting), so no sample is recorded after the
hand-back while the file is finalised.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Mapping

from PySide6.QtCore import QObject, Signal

from app.gui.jobs import describe_error
from app.gui.recording import live_session
from app.gui.station_worker import StationWorker
from policy.runtime.takeover import POLICY, TELEOP
from recorder.command_path import SafetyPath
from recorder.takeover_recording import SessionRecoveryRecorder, TakeoverRecordingSource


class RecoveryRecording(QObject):
    """Where take-overs are recorded (``dataset``; None: not recorded) and what became of them."""

    started = Signal(str)  # episode id, once its file is open
    saved = Signal(dict)  # id, path, dataset, frames, duration_s, complete
    failed = Signal(str)  # one line: the take-over went on, the recording did not

    def __init__(self, worker: StationWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.dataset: Path | None = None
        self.enabled = True
        self.task = ""
        self.operator = ""
        self.episode_id: str | None = None
        self.started_at: float | None = None  # time.monotonic() when the episode began
        self.saved_ids: list[str] = []
        self._calls = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recovery-recorder")
        self.started.connect(self._on_started)
        self.saved.connect(self._on_saved)
        self.failed.connect(self._on_failed)

    @property
    def target(self) -> Path | None:
        """The dataset a take-over is recorded into now (None: take-overs are not recorded)."""
        return self.dataset if self.enabled else None

    @property
    def recording(self) -> bool:
        return self.episode_id is not None

    def recorder_for(self, arbiter, controller, teleop_name: str, policy_name: str,
                     teleop_paused: Callable[[], str] | None = None) -> "OffControlThread | None":
        """The arbiter's recorder for one policy episode (None when no dataset is chosen).

        The recording session is built at the first take-over, on the background thread.
        """
        dataset = self.target
        if dataset is None:
            return None

        def build() -> SessionRecoveryRecorder:
            # Every sample of a recovery episode is the operator's: the episode is asked to end
            # (`OffControlThread.stop`) before the arbiter hands back, so at most the tick already
            # under way sees the switch, and what it records is still the operator's last command
            # (the arbiter holds it until the policy's first new setpoint).
            source = TakeoverRecordingSource(lambda: TELEOP, {TELEOP: teleop_name, POLICY: policy_name}, teleop_paused)
            session = live_session(self.worker, dataset, source, SafetyPath(controller, drive=False),
                                   task=self.task, operator=self.operator)
            return SessionRecoveryRecorder(session, threaded=True)

        return OffControlThread(build, self, dataset)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every start / stop handed over so far has run (a policy episode ends)."""
        self._calls.submit(lambda: None).result(timeout)

    def shutdown(self) -> None:
        self._calls.shutdown(wait=True)

    # -- GUI thread ------------------------------------------------------------------------------
    def _on_started(self, episode_id: str) -> None:
        self.episode_id = episode_id
        self.started_at = time.monotonic()

    def _on_saved(self, info: dict) -> None:
        self.episode_id = None
        self.started_at = None
        self.saved_ids.append(info["id"])

    def _on_failed(self, line: str) -> None:
        self.episode_id = None
        self.started_at = None


class OffControlThread:
    """A `RecoveryRecorder` whose calls run on the `RecoveryRecording`'s background thread, in order."""

    def __init__(self, build: Callable[[], SessionRecoveryRecorder], owner: RecoveryRecording, dataset: Path) -> None:
        self._build = build
        self._owner = owner
        self.dataset = dataset
        self.inner: SessionRecoveryRecorder | None = None
        self._open = threading.Event()  # an episode is being recorded (set on the background thread)

    def start(self, attrs: Mapping[str, object]) -> Future:
        return self._owner._calls.submit(self._start, dict(attrs))

    def stop(self) -> Future:
        inner = self.inner
        if inner is not None and self._open.is_set():
            inner.session.request_stop()  # no tick after this one records (any thread; finalised below)
        return self._owner._calls.submit(self._stop)

    def _start(self, attrs: dict) -> None:
        try:
            if self.inner is None:
                self.inner = self._build()
            episode = self.inner.start(attrs)
        except Exception as exc:  # noqa: BLE001 - any failure to record a take-over is reported; the operator keeps control
            self._owner.failed.emit(f"the take-over is not recorded: {describe_error(exc)}")
            return
        self._open.set()
        self._owner.started.emit(str(episode))

    def _stop(self) -> None:
        if not self._open.is_set() or self.inner is None:
            return  # its start failed (already reported)
        self._open.clear()
        try:
            summary = self.inner.stop()
        except Exception as exc:  # noqa: BLE001 - any failure to record a take-over is reported; the operator keeps control
            self._owner.failed.emit(f"the recovery episode could not be finished: {describe_error(exc)} — what was "
                                    "recorded is kept as an incomplete episode or recovered on the next open")
            return
        if summary is None:
            self._owner.failed.emit("the recovery episode ended with nothing recorded")
            return
        self._owner.saved.emit({"id": summary.episode_id, "path": str(summary.path), "dataset": str(self.dataset),
                                "frames": summary.frames, "duration_s": summary.duration_s,
                                "complete": summary.complete})
