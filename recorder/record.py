"""Headless recording from the embedded station: seeded episodes, through the safety controller.

The same `RecordingSession` loop as live recording. Every command goes through the station's
`SafetyController` (`recorder.command_path.SafetyPath`, limits from the station's own box, `devices.safety.limits_for`), so the recorded
action is the filtered command that reached the robot.

* The scripted expert, and a replayed device stream (``replay:FILE``), run on the station's
  simulated clock (`StationClock`): time advances in 10 ms control periods (the controller ticks at
  each) and faster than real time. N seeded episodes are recorded, each ending a tail after success
  or at the task's time limit.
* A live teleop device (``spacemouse``, ``openxr``, ``haptic``, ...) runs on the wall clock: the
  station is paced in real time (`RealTimeStation`), a `ControlLoop` thread ticks the controller
  at 100 Hz and the device's pump feeds it.

With a teleop device the device's buttons drive the session (`recorder.buttons.SessionButtons`):
recording starts with the first episode (from a reset with ``seed``); stop / record-toggle ends it
(kept), discard throws it away, mark-recovery marks a ``recovery`` event, and a record press while
idle starts the next episode where the arm is (no reset). The first episode also ends a tail after
the task succeeds or at its time limit; a replay's end ends the last one. At most ``episodes`` are kept.

Follows the long-work contract of `recorder.jobs` (progress, should_stop, `Cancelled`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from devices.sim.randomization import SceneRanges
from devices.sim.scene import OFFSCREEN_SIZE
from recorder.jobs import Cancelled, Progress, ShouldStop, never_stop, no_progress
from recorder.scene import apply_scene
from recorder.session import EpisodeEnd, EpisodeSummary, RecordingSession, SessionSettings
from recorder.sources import SourceOptions, make_source

MAX_SEED = 2**63 - 1  # episode seeds are stored as int64 attributes; a larger one cannot be written
MAX_TAIL_S = 600.0  # what is recorded after success: beyond ten minutes it is a typo, not a tail


@dataclass
class StationRecordingSettings:
    out: str
    task: str = "pick_place"
    device: str = "expert"
    episodes: int = 1
    rate_hz: float = 10.0
    cameras: tuple[str, ...] = ("scene", "wrist")
    image_size: int = 96
    seed: int = 0
    operator: str = ""
    tail_s: float = 1.0
    perturbations: dict[str, float] = field(default_factory=dict)
    randomize: SceneRanges = field(default_factory=SceneRanges)  # drawn per episode (from its seed)
    tags: tuple[str, ...] = ()  # stored in every episode's tags attribute (curation imports them)
    source: SourceOptions = field(default_factory=SourceOptions)
    image_codec: str = ""
    fsync: bool = True
    control_hz: float = 100.0  # the safety controller's rate

    def check(self) -> None:
        """ValueError (one line) for settings that cannot work."""
        if not str(self.out).strip():
            raise ValueError("--out must name a dataset folder (an empty one would record into the current folder)")
        if self.episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {self.episodes}")
        if not 0 < self.rate_hz <= 1000:
            raise ValueError(f"--rate must be in (0, 1000] Hz, got {self.rate_hz}")
        largest = min(OFFSCREEN_SIZE)  # the station renders square images into this framebuffer
        if not 16 <= self.image_size <= largest:
            raise ValueError(f"--image-size must be between 16 and {largest} pixels, got {self.image_size}")
        if not 0 <= self.seed <= MAX_SEED - (self.episodes - 1):
            raise ValueError(f"--seed must be between 0 and {MAX_SEED - (self.episodes - 1)} "
                             f"(episode i uses seed+i, stored as a 64-bit integer), got {self.seed}")
        if not 0 <= self.tail_s <= MAX_TAIL_S:
            raise ValueError(f"--tail must be between 0 and {MAX_TAIL_S:g} s, got {self.tail_s}")
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"--cameras lists a camera twice: {','.join(self.cameras)}")
        both = sorted(self.perturbations.keys() & self.randomize.as_dict().keys())
        if both:
            raise ValueError(f"{', '.join(both)} is given both by --perturb and --randomize; give it once")
        if not self.control_hz >= 100:
            raise ValueError(f"the safety controller runs at 100 Hz or faster, got {self.control_hz}")


@dataclass
class RecordReport:
    dataset: str
    task: str
    device: str
    episodes: list[EpisodeSummary]
    seconds: float
    discarded: int = 0
    problem: str = ""  # why a replayed stream stopped early ("" when it did not)

    def summary(self) -> dict:
        eps = [{"id": e.episode_id, "frames": e.frames, "duration_s": e.duration_s, "success": e.success,
                "score": e.score, "seed": e.seed, "complete": e.complete, "events": len(e.events),
                "missed_ticks": e.timing.get("missed_ticks", 0),
                "paused_s": e.timing.get("paused_s", 0.0),
                "safety_interventions": e.timing.get("safety_interventions", {})} for e in self.episodes]
        n = len(self.episodes)
        out = {"dataset": self.dataset, "task": self.task, "device": self.device, "episodes": n,
               "frames": sum(e.frames for e in self.episodes),
               "success_rate": (sum(bool(e.success) for e in self.episodes) / n) if n else 0.0,
               "seconds": round(self.seconds, 3), "discarded": self.discarded, "recorded": eps}
        if self.problem:
            out["problem"] = self.problem
        return out


class _FirstOf:
    """Ends when any of ``ends`` says so; the outcome is the first one's (the station's)."""

    def __init__(self, *ends: EpisodeEnd) -> None:
        self.ends = ends

    def begin(self) -> None:
        for e in self.ends:
            e.begin()

    def should_end(self, t: float) -> bool:
        return any(e.should_end(t) for e in self.ends)

    def outcome(self):
        return self.ends[0].outcome()


class _SourceFinished:
    """Ends when a replayed stream has nothing more to give."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def begin(self) -> None:
        pass

    def should_end(self, t: float) -> bool:
        return bool(getattr(self.source, "finished", False))

    def outcome(self):
        return None, None


def record_station(settings: StationRecordingSettings, progress: Progress = no_progress,
                   should_stop: ShouldStop = never_stop,
                   notice: Callable[[str], None] | None = None) -> RecordReport:
    """Record into ``settings.out``: the expert's episodes (seeds seed, seed+1, ...) or a device's.

    ``notice`` gets one line whenever recording pauses or resumes (a device lost and back).
    """
    from devices.control import ControlLoop, SafetyController
    from devices.safety import limits_for
    from devices.sim.station import make_station
    from devices.sim.station_clock import StationClock
    from devices.sim.tasks import make_task
    from recorder.clock import MonotonicClock
    from recorder.command_path import SafetyPath
    from recorder.format import DEFAULT_IMAGE_CODEC, image_codec
    from recorder.station import RealTimeStation, StationEnd, station_camera_names, station_description

    settings.check()
    make_task(settings.task)  # unknown task → ValueError before anything is created
    image_codec(settings.image_codec or DEFAULT_IMAGE_CODEC)
    opts = replace(settings.source, rate_hz=settings.rate_hz)
    source = make_source(settings.device, opts)
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a dataset folder")
    station = make_station(settings.task, image_size=settings.image_size, cameras=tuple(settings.cameras),
                           perturbations=settings.perturbations or None)
    realtime = bool(getattr(source, "realtime", False))
    t0 = time.perf_counter()
    summaries: list[EpisodeSummary] = []
    loop: ControlLoop | None = None
    report = RecordReport(str(out), settings.task, settings.device, summaries, 0.0)
    try:
        station.connect()
        known = station_camera_names(station)
        unknown = [c for c in settings.cameras if c not in known]
        if unknown:
            raise ValueError(f"unknown camera {', '.join(unknown)}; the station has {', '.join(known)}")
        limits = limits_for(station)
        if realtime:
            wall = MonotonicClock()
            robot = RealTimeStation(station, wall)
            clock = wall
            controller = SafetyController(robot, limits=limits, rate_hz=settings.control_hz)
            cameras = robot.cameras
        else:
            robot = station
            controller = SafetyController(station, limits=limits, rate_hz=settings.control_hz)
            clock = StationClock(station, controller)
            cameras = station.cameras
        open_source = getattr(source, "open", None)
        if callable(open_source):
            open_source(robot, clock.now)  # a missing device fails here, before anything is recorded
        session = RecordingSession(
            out, robot, cameras, source, clock=clock, control=SafetyPath(controller),
            settings=SessionSettings(rate_hz=settings.rate_hz, task=settings.task, operator=settings.operator,
                                     station=station_description(station),
                                     image_codec=settings.image_codec or DEFAULT_IMAGE_CODEC,
                                     fsync=settings.fsync,
                                     # a safety net beyond the task's own limit (which StationEnd applies)
                                     max_duration_s=float(station.task.time_limit_s) + settings.tail_s + 5.0))
        session.on_notice = notice
        # With a device's buttons only the first episode starts from a reset: its scene is drawn
        # once and kept by the episodes that start where the arm is.
        session.settings.metadata.update(apply_scene(station, settings.perturbations, settings.randomize, settings.seed))
        if settings.tags:
            session.settings.metadata["tags"] = list(settings.tags)
        if realtime:
            # The first episode's reset happens before the control thread runs: one loop owns the robot.
            robot.reset(settings.seed)
            controller.reset()
            loop = ControlLoop(controller, clock.now)
            loop.start()
        if hasattr(source, "on_button"):
            report.discarded = _record_by_buttons(session, source, settings, station, clock, summaries, progress,
                                                  should_stop, reset_first=not realtime)
            report.problem = getattr(source, "problem", "")
        else:
            for i in range(settings.episodes):
                if should_stop():
                    raise Cancelled(f"stopped after {len(summaries)} episodes")
                end = StationEnd(station, tail_s=settings.tail_s)
                scene = apply_scene(station, settings.perturbations, settings.randomize, settings.seed + i)
                summary = session.record_episode(seed=settings.seed + i, end=end, reset=True,
                                                 should_stop=should_stop, metadata=scene)
                summaries.append(summary)
                progress(i + 1, settings.episodes, f"{summary.episode_id}: {summary.frames} frames, "
                                                   f"{'success' if summary.success else 'failure'}")
    finally:
        try:
            if loop is not None:
                loop.stop()
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()
            station.disconnect()
    report.seconds = time.perf_counter() - t0
    return report


def _record_by_buttons(session: RecordingSession, source: Any, settings: StationRecordingSettings, station: Any,
                       clock: Any, summaries: list[EpisodeSummary], progress: Progress, should_stop: ShouldStop,
                       reset_first: bool) -> int:
    """Episodes delimited by the device's buttons (see the module docstring); returns how many were discarded."""
    from recorder.buttons import SessionButtons
    from recorder.station import StationEnd

    buttons = SessionButtons(session, device=source.name)
    source.on_button = buttons.handle
    period = 1.0 / settings.rate_hz
    discarded = 0
    first = True
    while len(summaries) < settings.episodes:
        if not first:
            while not buttons.take_start_request():  # idle: the operator still drives the arm
                if source.finished or should_stop():
                    return discarded
                clock.sleep_until(clock.now() + period)
        end = _FirstOf(StationEnd(station, tail_s=settings.tail_s, end_on_task=first), _SourceFinished(source))
        summary = session.record_episode(seed=settings.seed if first else None, end=end,
                                         reset=reset_first and first, should_stop=should_stop)
        first = False
        if summary is None:
            discarded += 1
            progress(len(summaries), settings.episodes, "episode discarded on the device")
        else:
            summaries.append(summary)
            progress(len(summaries), settings.episodes,
                     f"{summary.episode_id}: {summary.frames} frames, {'success' if summary.success else 'failure'}")
        if source.finished or should_stop():
            break
    return discarded
