"""A recording session: one robot, its cameras and a command source, recorded episode after episode.

This is the one recording loop of Demo Station. The command line records headlessly through
`RecordingSession.record_episode` (in the calling thread, usually on the station's simulated
clock); the GUI records live through `start` / `stop` / `discard` / `next_episode` (the same loop
on a background thread, on the real clock); a loop that owns the clock itself (a simulated-time
policy runtime recording a take-over) starts with ``start(thread=False)`` and calls `poll` every
control tick. Each tick, in this order:

1. wait for the tick's absolute deadline (`Ticker`), noting its error and any missed deadlines;
2. take every camera's newest frame captured at or before the tick (`CameraSync`);
3. read the robot's state;
4. ask the command source for a command and hand it down the command path (`recorder.command_path`:
   the safety controller), which says what the robot executes from this tick on and who produced it;
5. hand the sample to the writer thread (`EpisodeWriter`) — no disk I/O on the tick.

So a sample pairs the observation at time t with the command the robot executes at t. While the
source is *paused* (its device lost or failed: `Command.paused`) the robot holds and no sample is
stored; the pause and its reason become an event (``recording_paused``) and `on_notice` gets one line
when it starts and ends. Operator buttons reach a running episode through `request_stop`,
`request_discard` and `mark_event`, which are safe from any thread and act at the next tick.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Protocol

from devices.camera import Camera
from devices.robot import Robot
from recorder import format as fmt
from recorder.clock import Clock, MonotonicClock, Tick, Ticker, TickStats, realtime_priority
from recorder.command_path import CommandPath
from recorder.errors import RecordingError
from recorder.journal import FileSystem
from recorder.sources import CommandSource
from recorder.sync import CameraSync
from recorder.writer import EpisodeWriter, Sample


class EpisodeEnd(Protocol):
    """Decides when an episode is over and how it went (e.g. the station's task status)."""

    def begin(self) -> None: ...

    def should_end(self, t: float) -> bool: ...

    def outcome(self) -> tuple[bool | None, float | None]: ...


@dataclass
class SessionSettings:
    rate_hz: float = 10.0
    task: str = ""
    operator: str = ""
    station: dict = field(default_factory=dict)  # station configuration stored with every episode
    image_codec: str = fmt.DEFAULT_IMAGE_CODEC
    flush_interval_s: float = 1.0
    fsync: bool = True
    camera_timeout_s: float = 5.0
    max_duration_s: float | None = None  # a safety limit; None = until stopped or the end condition
    # Live recording runs its tick loop under SCHED_FIFO when the OS allows it (best effort, see
    # `recorder.clock.realtime_priority`); ignored on a simulated clock.
    realtime_priority: bool = True
    metadata: dict = field(default_factory=dict)  # extra root attributes


@dataclass(frozen=True)
class EpisodeSummary:
    episode_id: str
    path: Path
    frames: int
    duration_s: float
    complete: bool
    success: bool | None
    score: float | None
    seed: int | None
    timing: dict
    events: list[dict]


@dataclass
class _Episode:
    """The state of the episode being recorded."""

    id: str
    seed: int | None
    writer: EpisodeWriter
    ticker: Ticker
    stats: TickStats
    end: EpisodeEnd | None
    sources: list[str] = field(default_factory=list)
    frames: int = 0
    last_t: float = 0.0
    next_events_at: float = 1.0
    pauses: list[dict] = field(default_factory=list)  # recording_paused events
    paused_ticks: int = 0

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1]["end"] != self.pauses[-1]["end"]  # end is NaN

PAUSE_EVENT = "recording_paused"


class RecordingSession:
    """Records episodes of ``robot`` + ``cameras`` driven by ``source`` into ``dataset_root``."""

    def __init__(self, dataset_root: str | Path, robot: Robot, cameras: Mapping[str, Camera],
                 source: CommandSource, *, control: CommandPath, clock: Clock | None = None,
                 settings: SessionSettings | None = None, fs: FileSystem | None = None,
                 on_sample: Callable[[Sample], None] | None = None) -> None:
        self.root = Path(dataset_root)
        self.robot = robot
        self.cameras = dict(cameras)
        self.source = source
        # The path to the robot, always chosen by the caller: `recorder.command_path.SafetyPath` in every
        # product path; there is no default, so no session bypasses the safety filter by omission.
        self.control = control
        self.clock = clock or MonotonicClock()
        self.settings = settings or SessionSettings()
        if not self.settings.rate_hz > 0:
            raise ValueError(f"the recording rate must be positive, got {self.settings.rate_hz} Hz")
        self.layout = fmt.EpisodeLayout.from_devices(robot.features, self.cameras)
        self._fs = fs
        self._on_sample = on_sample
        self._sync = CameraSync(self.cameras)
        self._episode: _Episode | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._discard = False
        self._outcome_override: tuple[bool | None, float | None] | None = None
        self._result: EpisodeSummary | BaseException | None = None
        self._lock = threading.Lock()
        self._operator_events: list[dict] = []
        self._end_request = threading.Event()  # an operator's stop/discard, honoured at the next tick
        self._external = False  # the episode is ticked by `poll` from a loop that owns the clock
        # Called on the recorder thread when a live episode ends (finished: its summary; failed: the
        # exception; discarded: None). A GUI must hand it over to its own thread.
        self.on_episode_end: Callable[[EpisodeSummary | BaseException | None], None] | None = None
        # One line for the operator when recording pauses or resumes (called on the recording thread).
        self.on_notice: Callable[[str], None] | None = None

    # -- headless: one episode in the calling thread -----------------------------------------------
    def record_episode(self, seed: int | None = None, end: EpisodeEnd | None = None, reset: bool = True,
                       should_stop: Callable[[], bool] = lambda: False,
                       metadata: Mapping[str, object] | None = None) -> EpisodeSummary | None:
        """Record one episode until ``end`` says so, ``should_stop()``, an operator's stop or the
        duration limit. Returns None if the operator discarded it (`request_discard`)."""
        if self.recording:
            raise RecordingError(f"already recording {self.episode_id} on a background thread")
        self._discard = False
        self._outcome_override = None
        ep = self._begin(seed, end, reset, metadata)
        return self._run(ep, should_stop)

    # -- live: the same loop on a background thread ----------------------------------------------
    @property
    def recording(self) -> bool:
        return self._external or (self._thread is not None and self._thread.is_alive())

    @property
    def active(self) -> bool:
        """An episode is open (recorded by any of the three loops)."""
        return self._episode is not None

    @property
    def episode_id(self) -> str | None:
        ep = self._episode
        return ep.id if ep else None

    def start(self, seed: int | None = None, end: EpisodeEnd | None = None, reset: bool = False,
              metadata: Mapping[str, object] | None = None, thread: bool = True) -> str:
        """Begin an episode; returns its id. Errors before the first tick raise here.

        ``metadata``: extra root attributes for this episode only (e.g. a take-over's ``tags``).
        ``thread=False``: no thread is started; the caller owns the clock and calls `poll`.
        """
        if self.recording:
            raise RecordingError(f"already recording {self.episode_id}: stop or discard it first")
        self._stop.clear()
        self._discard = False
        self._outcome_override = None
        self._result = None
        ep = self._begin(seed, end, reset, metadata)
        if not thread:
            self._external = True
            return ep.id
        self._thread = threading.Thread(target=self._run_in_thread, args=(ep,), name=f"recorder-{ep.id}",
                                        daemon=True)
        self._thread.start()
        return ep.id

    def poll(self) -> bool:
        """Record a sample if the next tick is due (``start(thread=False)`` only); False once it ended.

        Call it at least once per recording period from the loop that advances the clock. When the
        episode ends (its end condition, `request_stop`, the duration limit) it is finished here
        and `on_episode_end` is called, as on the background thread.
        """
        ep = self._episode
        if not self._external or ep is None:
            return False
        if not self._end_request.is_set():
            tick = ep.ticker.poll()
            if tick is None:
                return True
            try:
                ended = self._tick(ep, tick)
            except BaseException as exc:
                self._external = False
                self._finish_incomplete(ep, stopped_by_user=isinstance(exc, KeyboardInterrupt))
                self._deliver(exc)
                raise
            if not ended and not self._end_request.is_set():
                return True
        self._external = False
        self._deliver(self._conclude_safely(ep))
        return False

    def request_stop(self) -> None:
        """Finish the running episode at its next tick (an operator's stop button; any thread)."""
        self._end_request.set()

    def request_discard(self) -> None:
        """Throw the running episode away at its next tick (an operator's discard button; any thread)."""
        self._discard = True
        self._end_request.set()

    def stop(self, success: bool | None = None, score: float | None = None) -> EpisodeSummary:
        """Finish the episode (it becomes immutable) with the operator's outcome, if given."""
        if success is not None or score is not None:
            self._outcome_override = (success, score)
        result = self._join()
        if isinstance(result, BaseException):
            raise result
        if result is None:
            raise RecordingError("no episode is being recorded")
        return result

    def discard(self) -> None:
        """Throw the current episode away (nothing of it stays on disk)."""
        self._discard = True
        result = self._join()
        if isinstance(result, BaseException) and not isinstance(result, RecordingError):
            raise result

    def next_episode(self, seed: int | None = None, success: bool | None = None, score: float | None = None,
                     end: EpisodeEnd | None = None, reset: bool = False) -> tuple[EpisodeSummary, str]:
        """Finish the current episode and start the next one at once."""
        summary = self.stop(success, score)
        return summary, self.start(seed, end, reset)

    def mark_event(self, kind: str, label: str = "", start: float | None = None, end: float | None = None) -> None:
        """An operator's mark (e.g. "mistake"), in episode seconds; now if ``start`` is None."""
        ep = self._episode
        if ep is None:
            raise RecordingError("no episode is being recorded")
        now = self.clock.now() - ep.ticker.start
        with self._lock:
            self._operator_events.append({"kind": kind, "start": now if start is None else float(start),
                                          "end": float("nan") if end is None else float(end), "label": label})

    def _join(self) -> EpisodeSummary | BaseException | None:
        """Stop the loop thread; hand over its result once (a second stop has nothing to stop)."""
        self._stop.set()
        if self._external and self._episode is not None:  # finish a polled episode in this thread
            self._external = False
            self._result = self._conclude_safely(self._episode)
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        result, self._result = self._result, None
        return result

    def _run_in_thread(self, ep: _Episode) -> None:
        try:
            result: EpisodeSummary | BaseException | None = self._run(ep, self._stop.is_set)
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop() and on_episode_end
            result = exc
        self._deliver(result)

    def _deliver(self, result: EpisodeSummary | BaseException | None) -> None:
        self._result = result
        callback = self.on_episode_end
        if callback is not None:
            callback(result)

    def _conclude_safely(self, ep: _Episode) -> EpisodeSummary | BaseException | None:
        try:
            return self._conclude(ep)
        except BaseException as exc:  # noqa: BLE001 - carried to the caller (stop(), on_episode_end) or cleaned up and re-raised
            return exc

    # -- the loop ----------------------------------------------------------------------------------
    def _begin(self, seed: int | None, end: EpisodeEnd | None, reset: bool,
               extra: Mapping[str, object] | None = None) -> _Episode:
        s = self.settings
        if reset:
            self.robot.reset(seed)
        clock = self.clock
        self.source.begin_episode(self.robot, seed)
        self.control.begin_episode(self.source, reset)
        self._sync.clear()
        self._sync.wait_for_frames(clock.now, lambda dt: clock.sleep_until(clock.now() + dt), s.camera_timeout_s)
        if end is not None:
            end.begin()
        self._end_request.clear()
        with self._lock:
            self._operator_events = []
        metadata = {
            "task": s.task, "device": self.source.name, "operator": s.operator, "station": s.station,
            "software_version": fmt.software_version(),
            "start_time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "clock": "real" if clock.realtime else "simulated",
            **({"seed": int(seed)} if seed is not None else {}),
            **s.metadata,
            **dict(extra or {}),
        }
        writer = self._new_writer(metadata)
        # The first deadline is now, after the journal was created (which may wait for the disk).
        start = clock.now()
        writer.clock_start = start
        ep = _Episode(id=writer.h5_path.stem, seed=seed, writer=writer, ticker=Ticker(clock, s.rate_hz, start),
                      stats=TickStats(s.rate_hz), end=end)
        self._episode = ep
        return ep

    def _new_writer(self, metadata: dict) -> EpisodeWriter:
        folder = fmt.episodes_dir(self.root)
        folder.mkdir(parents=True, exist_ok=True)
        s = self.settings
        number = fmt.next_episode_number(folder)
        for _ in range(1000):  # another recorder may take the same number: try the next one
            path = folder / (fmt.episode_id(number) + fmt.EPISODE_SUFFIX)
            try:
                if path.exists():
                    raise FileExistsError(path)
                return EpisodeWriter(path, self.layout, metadata, s.rate_hz, codec=s.image_codec,
                                     fs=self._fs, flush_interval_s=s.flush_interval_s, fsync=s.fsync)
            except FileExistsError:
                number += 1
        raise RecordingError(f"could not allocate an episode file in {folder}")

    def _run(self, ep: _Episode, should_stop: Callable[[], bool]) -> EpisodeSummary | None:
        try:
            with realtime_priority(self.settings.realtime_priority and self.clock.realtime) as priority:
                ep.stats.priority = priority
                while not should_stop() and not self._end_request.is_set():
                    if self._tick(ep, ep.ticker.wait()):
                        break
        except BaseException as exc:
            # Keep what was recorded: the episode is finalised as incomplete (a Ctrl-C: as stopped by
            # the user, not as a crash), or, if even that is impossible (disk full), its journal
            # stays and is recovered on the next open.
            self._finish_incomplete(ep, stopped_by_user=isinstance(exc, KeyboardInterrupt))
            raise
        return self._conclude(ep)

    def _conclude(self, ep: _Episode) -> EpisodeSummary | None:
        if self._discard:
            ep.writer.abort()
            self._episode = None
            return None
        return self._finish(ep)

    def _tick(self, ep: _Episode, tick: Tick) -> bool:
        """One recorder tick (see the module docstring); True when the episode should end."""
        s = self.settings
        t = tick.time - ep.ticker.start
        self._sync.poll()
        frames = self._sync.frames_at(tick.time)
        state = self.robot.get_state()
        command = self.source.next_command(state, t)
        applied = self.control.step(command, tick.time, ep.ticker.period)
        if command.paused:
            self._pause(ep, t, command.paused)
        else:
            if ep.paused:
                self._resume(ep, t)
            sample = Sample(time=t, tick_error=tick.error, missed=tick.missed, action=applied.action,
                            source=self._source_index(ep, applied.device), state=state, frames=frames,
                            command=applied.command)
            ep.writer.put(sample)
            ep.stats.add(tick)
            ep.frames += 1
            if self._on_sample is not None:
                self._on_sample(sample)
        ep.last_t = t
        if t >= ep.next_events_at:
            ep.writer.set_extra(events=self._events(ep))
            ep.next_events_at = t + s.flush_interval_s
        if ep.end is not None and ep.end.should_end(t):
            return True
        return s.max_duration_s is not None and t + ep.ticker.period > s.max_duration_s + 1e-9

    def _pause(self, ep: _Episode, t: float, reason: str) -> None:
        ep.paused_ticks += 1
        if ep.paused:
            return
        with self._lock:
            ep.pauses.append({"kind": PAUSE_EVENT, "start": float(t), "end": float("nan"), "label": reason})
        self._notice(f"{ep.id}: recording paused at {t:.1f} s: {reason}")

    def _resume(self, ep: _Episode, t: float) -> None:
        with self._lock:
            ep.pauses[-1]["end"] = float(t)
        self._notice(f"{ep.id}: recording resumed at {t:.1f} s")

    def _notice(self, line: str) -> None:
        if self.on_notice is not None:
            self.on_notice(line)

    def _source_index(self, ep: _Episode, device: str) -> int:
        try:
            return ep.sources.index(device)
        except ValueError:
            if len(ep.sources) >= 255:
                raise RecordingError("more than 255 distinct command devices in one episode") from None
            ep.sources.append(device)
            ep.writer.set_extra(sources=list(ep.sources))
            return len(ep.sources) - 1

    def _events(self, ep: _Episode) -> list[dict]:
        with self._lock:
            operator = list(self._operator_events) + [dict(p) for p in ep.pauses]
        return list(self.source.events()) + operator

    def _finish(self, ep: _Episode, stopped_by_user: bool = False) -> EpisodeSummary:
        """Seal and finalise the episode; ``stopped_by_user``: cut short (Ctrl-C), so no outcome."""
        success, score = ep.end.outcome() if ep.end is not None and not stopped_by_user else (None, None)
        if self._outcome_override is not None:
            o_success, o_score = self._outcome_override
            success = o_success if o_success is not None else success
            score = o_score if o_score is not None else score
        if ep.paused:  # a pause still open when the episode ends lasts until its last tick
            with self._lock:
                ep.pauses[-1]["end"] = float(ep.last_t)
        events = self._events(ep)
        timing = {**ep.stats.summary(), **self.control.episode_report()}
        if ep.pauses:
            timing["paused_ticks"] = ep.paused_ticks
            timing["paused_s"] = float(sum(p["end"] - p["start"] for p in ep.pauses))
        end = {"success": None if success is None else bool(success),
               "score": None if score is None else float(score), "events": events, "timing": timing}
        if stopped_by_user:
            end["stopped_by_user"] = True
        try:
            result = ep.writer.finish(end)
        finally:
            self._episode = None
        return EpisodeSummary(episode_id=ep.id, path=result.path, frames=result.frames,
                              duration_s=result.frames / self.settings.rate_hz, complete=result.complete,
                              success=end["success"], score=end["score"], seed=ep.seed, timing=timing,
                              events=events)

    def _finish_incomplete(self, ep: _Episode, stopped_by_user: bool = False) -> None:
        self._episode = None
        writer = ep.writer
        if writer.error is not None:
            writer.close_without_finalising()
            return
        try:
            if stopped_by_user:  # sealed like a stop, marked as cut short by the user
                self._finish(ep, stopped_by_user=True)
                return
            writer.set_extra(events=self._events(ep))
            writer.finish(None)
        except BaseException:  # noqa: BLE001 - sealing failed: the journal stays, recovered at the next open
            writer.close_without_finalising()
