"""The one adapter that runs a core job on a QThread and reports back through Qt signals.

Core jobs (training, evaluation, export, pause detection, dataset scans) are plain functions that
take ``progress(done, total, message)`` and ``should_stop()`` and raise `recorder.jobs.Cancelled`
when asked to stop (see recorder/jobs.py). The GUI never calls them on its own thread: it hands
them to a `JobRunner`, which gives every panel the same start / cancel / on_done / on_exception /
shutdown, as Orange3's ``widgets/utils/concurrent.py`` does for its widgets.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from recorder.jobs import Cancelled

Job = Callable[..., Any]  # called as job(progress=..., should_stop=...)

# Progress from a tight loop would flood the event loop; forward at most this often (the final
# report always goes through).
PROGRESS_INTERVAL_S = 0.05


class _JobThread(QThread):
    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    raised = Signal(object)
    stopped = Signal()

    def __init__(self, job: Job, stop: threading.Event) -> None:
        super().__init__()
        self._job = job
        self._stop = stop
        self._last_report = 0.0

    def _progress(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if done >= total or now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.progressed.emit(int(done), int(total), str(message))

    def run(self) -> None:
        try:
            result = self._job(progress=self._progress, should_stop=self._stop.is_set)
        except Cancelled:
            self.stopped.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI, not the console
            self.raised.emit(exc)
        else:
            # A job that finished its last step after cancel was asked still reports its result:
            # it is complete and correct.
            self.succeeded.emit(result)


class JobRunner(QObject):
    """Runs one job at a time; signals arrive on the thread that owns the runner (the GUI thread).

    ``started``/``progress``/``done(result)``/``failed(exception)``/``cancelled`` and, after any of
    the last three, ``finished``. The per-call ``on_*`` callbacks are a convenience for the common
    case of one panel, one job.
    """

    started = Signal()
    progress = Signal(int, int, str)
    done = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, name: str = "job", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._thread: _JobThread | None = None
        self._threads: list[_JobThread] = []  # until each has finished (a thread may outlive its result)
        self._pending = False  # a job was started and has not reported its outcome yet
        self._stop = threading.Event()
        self._callbacks: dict[str, Callable | None] = {}

    def is_running(self) -> bool:
        """True from `start` until the job's outcome (done, failed or cancelled) has been delivered."""
        return self._pending

    def start(self, job: Job, *, on_done: Callable[[Any], None] | None = None,
              on_exception: Callable[[BaseException], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None) -> None:
        """Start ``job``; refuse (RuntimeError) while another job of this runner is running."""
        if self._pending:
            raise RuntimeError(f"{self.name} is already running")
        self._stop = threading.Event()
        self._callbacks = {"done": on_done, "exception": on_exception, "progress": on_progress,
                           "cancelled": on_cancelled}
        thread = _JobThread(job, self._stop)
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(self._on_done)
        thread.raised.connect(self._on_failed)
        thread.stopped.connect(self._on_cancelled)
        thread.finished.connect(lambda t=thread: self._on_thread_finished(t))
        self._thread = thread
        self._threads.append(thread)
        self._pending = True
        thread.start()
        self.started.emit()

    def cancel(self) -> None:
        """Ask the job to stop at its next `should_stop` check; `cancelled` follows."""
        self._stop.set()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel and wait for the threads (window closing); True when they ended in time."""
        self._stop.set()
        return all(bool(t.wait(timeout_ms)) for t in list(self._threads))

    # -- forwarding ------------------------------------------------------------------------------
    def _call(self, key: str, *args: Any) -> None:
        cb = self._callbacks.get(key)
        if cb is not None:
            cb(*args)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if self._pending:
            self.progress.emit(done, total, message)
            self._call("progress", done, total, message)

    # The outcome frees the runner before the callbacks run, so a callback may start the next job.
    def _on_done(self, result: object) -> None:
        callbacks, self._pending = self._callbacks, False
        self.done.emit(result)
        self._call_from(callbacks, "done", result)

    def _on_failed(self, exc: object) -> None:
        callbacks, self._pending = self._callbacks, False
        self.failed.emit(exc)
        self._call_from(callbacks, "exception", exc)

    def _on_cancelled(self) -> None:
        callbacks, self._pending = self._callbacks, False
        self.cancelled.emit()
        self._call_from(callbacks, "cancelled")

    @staticmethod
    def _call_from(callbacks: dict, key: str, *args: Any) -> None:
        cb = callbacks.get(key)
        if cb is not None:
            cb(*args)

    def _on_thread_finished(self, thread: _JobThread) -> None:
        if thread in self._threads:
            self._threads.remove(thread)
        if self._thread is thread:
            self._thread = None
        thread.deleteLater()
        self.finished.emit()


def describe_error(exc: BaseException) -> str:
    """One line for the status bar or a dialog: what failed, never a traceback."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    if isinstance(exc, (ValueError, FileNotFoundError, PermissionError)):
        return text
    return f"{type(exc).__name__}: {text}"


class _Relay(QObject):
    delivered = Signal(object, object, object)  # callback, value, is_error


class SerialWorker(QObject):
    """One long-lived thread that runs short calls in order, for resources bound to one thread.

    A SQLite connection (the curation catalog) may only be used by the thread that opened it, so
    the Dataset panel's catalog lives on one of these for the whole session; quick reads and edits
    (a tag, an outcome, an undo — each one transaction, possibly an fsync) run here instead of on
    the GUI thread. Long jobs with progress use `JobRunner`.
    """

    def __init__(self, name: str = "serial", parent: QObject | None = None) -> None:
        super().__init__(parent)
        import queue

        self.name = name
        self._queue: "queue.SimpleQueue" = queue.SimpleQueue()
        self._relay = _Relay()
        self._relay.delivered.connect(self._deliver)
        self.pending = 0
        self._thread = threading.Thread(target=self._run, name=f"gui-{name}", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        self.pending += 1
        self._queue.put((fn, on_done, on_error))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, on_done, on_error = item
            try:
                value = fn()
            except BaseException as exc:  # noqa: BLE001 - reported to the GUI
                self._relay.delivered.emit(on_error, exc, True)
            else:
                self._relay.delivered.emit(on_done, value, False)

    def _deliver(self, callback, value, is_error) -> None:
        self.pending -= 1
        if callback is not None:
            callback(value)

    def shutdown(self, finally_call: Callable[[], Any] | None = None, timeout_s: float = 10.0) -> None:
        """Run ``finally_call`` (e.g. close the catalog) on the thread, then end it."""
        if finally_call is not None:
            self._queue.put((finally_call, None, None))
        self._queue.put(None)
        self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        return self._thread.is_alive()
