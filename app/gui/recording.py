"""Live recording from the GUI: a `recorder.session.RecordingSession` over the live station.

The session ticks on its own thread (the recorder's one recording loop); it reaches the station
through `app.gui.station_proxy`, and while it records, the station worker's own control tick is
paused (`acquire_control`), so exactly one loop commands the robot and every command it sends is
recorded. Start / stop / discard / next run on a `JobRunner` — finalising an episode writes its
HDF5 file, which never happens on the GUI thread. Per-tick timing reaches the GUI through
``sample`` at the tick rate.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.gui.jobs import JobRunner, describe_error
from app.gui.station_proxy import LiveAgentSource, StationPath, StationRobot, station_cameras
from app.gui.station_worker import StationWorker
from devices.sim.randomization import SceneRanges
from recorder.clock import MonotonicClock
from recorder.format import software_version
from recorder.scene import apply_scene, scene_attributes
from recorder.session import RecordingSession, SessionSettings
from recorder.station import StationEnd


@dataclass(frozen=True)
class RecordSettings:
    dataset: Path
    operator: str = ""
    task: str = ""
    auto_end: bool = True  # end when the task succeeds (after a short tail) or times out
    reset_scene: bool = True  # re-randomise the scene at the start of each episode
    max_duration_s: float | None = 120.0
    randomize: SceneRanges = field(default_factory=SceneRanges)  # drawn for each episode that resets the scene
    tags: tuple[str, ...] = ()  # every episode's tags attribute (e.g. the sweep cell it re-collects)


@dataclass
class SessionCounts:
    kept: int = 0
    discarded: int = 0
    failed: int = 0
    kept_ids: list[str] = field(default_factory=list)


class TimingWindow:
    """Tick error statistics over the last ``n`` samples (what the meter shows)."""

    def __init__(self, rate_hz: float, n: int = 50) -> None:
        self.rate_hz = rate_hz
        self.n = n
        self.times: list[float] = []
        self.errors: list[float] = []
        self.missed = 0

    def add(self, t: float, tick_error: float, missed: int) -> None:
        self.times.append(t)
        self.errors.append(tick_error)
        self.missed += int(missed)
        if len(self.times) > self.n:
            del self.times[:-self.n]
            del self.errors[:-self.n]

    def snapshot(self) -> dict:
        if len(self.times) < 2:
            return {"rate_hz": 0.0, "jitter_ms": 0.0, "max_error_ms": 0.0, "missed": self.missed}
        periods = np.diff(self.times)
        return {"rate_hz": float(1.0 / periods.mean()) if periods.mean() > 0 else 0.0,
                "jitter_ms": float(np.std(self.errors) * 1e3),
                "max_error_ms": float(np.max(np.abs(self.errors)) * 1e3),
                "missed": self.missed}


def live_session(worker: StationWorker, dataset: Path, source, control, *, task: str = "", operator: str = "",
                 max_duration_s: float | None = None, extra_cameras: dict | None = None,
                 on_sample=None) -> RecordingSession:
    """A `RecordingSession` over the live station (robot and cameras through the station proxies).

    Shared by the Record panel (the agents' commands, `StationPath`) and the Run panel's take-over
    recording (the runtime's arbiter commands, `SafetyPath(drive=False)`): one way to record the
    live station, whoever drives it.
    """
    extra = dict(extra_cameras or {})
    robot = StationRobot(worker)
    clock = MonotonicClock()
    robot.now = clock.now
    cameras = station_cameras(worker, clock.now)
    clash = set(cameras) & set(extra)
    if clash:
        raise ValueError(f"camera name {sorted(clash)[0]!r} is taken by a station camera: rename it in the camera config")
    cameras.update(extra)  # threaded device cameras stamp frames on time.monotonic, the session's clock
    session_settings = SessionSettings(rate_hz=worker.rate_hz, task=task, operator=operator,
                                       station=robot.description(), max_duration_s=max_duration_s,
                                       metadata={"recorded_with": "demostation gui"})
    return RecordingSession(dataset, robot, cameras, source, clock=clock, settings=session_settings,
                            on_sample=on_sample, control=control)


class RecordController(QObject):
    state_changed = Signal(str)  # "idle", "starting", "recording", "stopping"
    sample = Signal(dict)  # {"episode", "t", "frames", "tick_error_ms", "rate_hz", "jitter_ms", "missed", "device"}
    episode_started = Signal(str)
    episode_saved = Signal(dict)  # summary: id, path, frames, duration_s, success, score, complete, timing
    episode_discarded = Signal(str)
    ended_by_itself = Signal()  # the end condition fired on the recorder thread
    failed = Signal(str)

    def __init__(self, worker: StationWorker, parent: QObject | None = None, extra_cameras=None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.extra_cameras = extra_cameras  # () -> {name: Camera}: the lab's connected cameras
        self.jobs = JobRunner("recorder", self)
        self.state = "idle"
        self.counts = SessionCounts()
        self.episode_id: str | None = None
        self.marks = 0
        self.started_at: float | None = None  # time.monotonic() of the first tick
        self._session = None
        self._session_key: tuple | None = None
        self._timing: TimingWindow | None = None
        self._settings: RecordSettings | None = None
        self._scene_ranges = SceneRanges()  # the ranges the station's current scene was drawn from
        self.ended_by_itself.connect(self._collect_ended_episode)
        # The first episode asks for the installed version, which imports the package-metadata
        # machinery (dozens of modules, each read through PySide's import hook): do that now, at
        # start-up, not on the recorder thread at the first Start, where it stalled the GUI.
        software_version()

    # -- public commands (GUI thread) ------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.jobs.is_running()

    @property
    def recording(self) -> bool:
        return self.state == "recording"

    def elapsed(self) -> float:
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    def start(self, settings: RecordSettings) -> bool:
        if self.busy or self.state != "idle":
            return False
        self._settings = settings
        self._set_state("starting")
        self.jobs.start(lambda progress, should_stop: self._start_job(settings),
                        on_done=self._on_started, on_exception=self._on_start_failed)
        return True

    def stop(self, success: bool | None = None) -> bool:
        """Finish the episode and keep it (``success`` overrides the task's own verdict)."""
        if self.busy or self.state != "recording":
            return False
        self._set_state("stopping")
        self.jobs.start(lambda progress, should_stop: self._stop_job(success),
                        on_done=self._on_stopped, on_exception=self._on_stop_failed)
        return True

    def discard(self) -> bool:
        if self.busy or self.state != "recording":
            return False
        self._set_state("stopping")
        episode = self.episode_id or ""
        self.jobs.start(lambda progress, should_stop: self._discard_job(),
                        on_done=lambda _: self._on_discarded(episode), on_exception=self._on_stop_failed)
        return True

    def discard_kept(self, info: dict) -> bool:
        """Throw away an episode already finished (the operator replayed it and said no): its file
        is deleted, as a discard while recording leaves nothing on disk. Only an episode this
        controller kept in this session, and only while idle."""
        eid = info.get("id")
        if self.busy or self.state != "idle" or eid not in self.counts.kept_ids:
            return False
        path = Path(info["path"])

        def job(progress, should_stop) -> None:
            path.unlink(missing_ok=True)

        def done(_) -> None:
            self.counts.kept -= 1
            self.counts.kept_ids.remove(eid)
            self.counts.discarded += 1
            self.episode_discarded.emit(eid)

        self.jobs.start(job, on_done=done,
                        on_exception=lambda exc: self.failed.emit(f"could not discard {eid}: {describe_error(exc)}"))
        return True

    def next(self, success: bool | None = None) -> bool:
        """Keep this episode and start the next at once (the foot pedal's one press)."""
        if self.busy or self.state != "recording" or self._settings is None:
            return False
        settings = self._settings
        self._set_state("stopping")

        def job(progress, should_stop):
            summary = self._stop_job(success, release=False)
            try:
                return summary, self._start_job(settings, acquire=False)
            except BaseException as exc:
                self._release()
                exc.summary = summary  # type: ignore[attr-defined] - the kept episode is still reported
                raise

        def done(result) -> None:
            summary, episode = result
            self._on_stopped(summary, keep_state=True)
            self._on_started(episode)

        def failed(exc: BaseException) -> None:
            summary = getattr(exc, "summary", None)
            if summary is not None:
                self._on_stopped(summary)
            self._on_start_failed(exc)

        self.jobs.start(job, on_done=done, on_exception=failed)
        return True

    def mark(self, kind: str, label: str = "") -> bool:
        """An operator's mark in the episode being recorded (e.g. where a recovery starts)."""
        if self.state != "recording" or self._session is None:
            return False
        self._session.mark_event(kind, label)
        self.marks += 1
        return True

    def shutdown(self) -> None:
        """Window closing: finish (keep) a running episode so nothing recorded is lost."""
        self.jobs.shutdown(30000)
        if self._session is not None and self._session.recording:
            with contextlib.suppress(Exception):
                self._session.stop()
            self._release()

    # -- jobs (recorder job thread) ---------------------------------------------------------------
    def _session_for(self, settings: RecordSettings):
        extra = dict(self.extra_cameras()) if self.extra_cameras is not None else {}
        key = (str(settings.dataset), settings.operator, settings.task, settings.max_duration_s, tuple(sorted(extra)))
        if self._session is not None and self._session_key == key:
            return self._session
        session = live_session(self.worker, settings.dataset, LiveAgentSource(self.worker), StationPath(self.worker),
                               task=settings.task, operator=settings.operator,
                               max_duration_s=settings.max_duration_s, extra_cameras=extra,
                               on_sample=self._on_sample_thread)
        session.on_episode_end = self._on_episode_end_thread
        self._session, self._session_key = session, key
        return session

    def _start_job(self, settings: RecordSettings, acquire: bool = True) -> str:
        session = self._session_for(settings)
        if acquire:
            self.worker.call(lambda s: self.worker.acquire_control())
        try:
            end = StationEnd(session.robot) if settings.auto_end else None
            self._timing = TimingWindow(self.worker.rate_hz)
            self._ended = False
            seed = self.worker.seed + 1 if settings.reset_scene else None
            return session.start(seed=seed, end=end, reset=settings.reset_scene,
                                 metadata=self._scene_job(settings, seed))
        except BaseException:
            if acquire:
                self._release()
            raise

    def _scene_job(self, settings: RecordSettings, seed: int | None) -> dict:
        """Before a reset: draw the episode's scene on the station; without one: record the scene as it is."""
        fixed, ranges = self.worker.perturbations, settings.randomize
        tags = {"tags": list(settings.tags)} if settings.tags else {}
        if seed is None:
            return {**self.worker.call(lambda s: scene_attributes(s, self._scene_ranges)), **tags}
        self._scene_ranges = ranges
        return {**self.worker.call(lambda s: apply_scene(s, fixed, ranges, seed)), **tags}

    def _stop_job(self, success: bool | None, release: bool = True):
        session = self._session
        try:
            summary = session.stop(success=success)
        finally:
            if release:
                self._release()
        return summary

    def _discard_job(self) -> None:
        try:
            self._session.discard()
        finally:
            self._release()

    def _release(self) -> None:
        with contextlib.suppress(Exception):  # the station is gone; nothing left to give control back to
            self.worker.call(lambda s: self.worker.release_control())

    # -- recorder thread callbacks (emit only) ----------------------------------------------------
    def _on_sample_thread(self, sample) -> None:
        timing = self._timing
        if timing is None:
            return
        timing.add(sample.time, sample.tick_error, sample.missed)
        snap = timing.snapshot()
        self.sample.emit({"t": float(sample.time), "tick_error_ms": float(sample.tick_error) * 1e3, **snap})

    def _on_episode_end_thread(self, result) -> None:
        if self.state == "recording" and not self.busy:
            self.ended_by_itself.emit()

    # -- GUI thread --------------------------------------------------------------------------------
    def _collect_ended_episode(self) -> None:
        if self.state == "recording" and not self.busy:
            self.stop()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    def _on_started(self, episode_id: str) -> None:
        self.episode_id = episode_id
        self.started_at = time.monotonic()
        self._set_state("recording")
        self.episode_started.emit(episode_id)
        session = self._session
        if session is not None and not session.recording:
            # The episode ended before the GUI heard it started (an instant end condition).
            self.ended_by_itself.emit()

    def _on_start_failed(self, exc: BaseException) -> None:
        self.episode_id = None
        self.started_at = None
        self._set_state("idle")
        self.failed.emit(f"could not start recording: {describe_error(exc)}")

    def _on_stopped(self, summary, keep_state: bool = False) -> None:
        info = {"id": summary.episode_id, "path": str(summary.path), "frames": summary.frames,
                "duration_s": summary.duration_s, "success": summary.success, "score": summary.score,
                "complete": summary.complete, "timing": summary.timing}
        self.counts.kept += 1
        self.counts.kept_ids.append(summary.episode_id)
        self.episode_id = None
        self.started_at = None
        if not keep_state:
            self._set_state("idle")
        self.episode_saved.emit(info)

    def _on_stop_failed(self, exc: BaseException) -> None:
        self.counts.failed += 1
        self.episode_id = None
        self.started_at = None
        self._set_state("idle")
        self.failed.emit(f"recording failed: {describe_error(exc)} — what was recorded is kept as an incomplete "
                         "episode or recovered on the next open")

    def _on_discarded(self, episode: str) -> None:
        self.counts.discarded += 1
        self.episode_id = None
        self.started_at = None
        self._set_state("idle")
        self.episode_discarded.emit(episode)


def format_elapsed(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:04.1f}"
