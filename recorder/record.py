"""Headless recording from the embedded station: N seeded episodes, faster than real time.

The same `RecordingSession` loop as live recording, on the station's simulated clock
(`StationClock`): each tick steps the physics by one period instead of sleeping. Follows the
long-work contract of `recorder.jobs` (progress, should_stop, `Cancelled`), so the GUI can run a
batch on a worker and the command line runs it directly.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from recorder.jobs import Cancelled, Progress, ShouldStop, never_stop, no_progress
from recorder.session import EpisodeSummary, RecordingSession, SessionSettings
from recorder.sources import SourceOptions, make_source


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
    source: SourceOptions = field(default_factory=SourceOptions)
    image_codec: str = ""
    fsync: bool = True

    def check(self) -> None:
        """ValueError (one line) for settings that cannot work."""
        if self.episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {self.episodes}")
        if not 0 < self.rate_hz <= 1000:
            raise ValueError(f"--rate must be in (0, 1000] Hz, got {self.rate_hz}")
        if not 16 <= self.image_size <= 2048:
            raise ValueError(f"--image-size must be between 16 and 2048 pixels, got {self.image_size}")
        if not self.tail_s >= 0:
            raise ValueError(f"the tail after success must be >= 0 s, got {self.tail_s}")
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"--cameras lists a camera twice: {','.join(self.cameras)}")


@dataclass
class RecordReport:
    dataset: str
    task: str
    device: str
    episodes: list[EpisodeSummary]
    seconds: float

    def summary(self) -> dict:
        eps = [{"id": e.episode_id, "frames": e.frames, "duration_s": e.duration_s, "success": e.success,
                "score": e.score, "seed": e.seed, "complete": e.complete, "events": len(e.events),
                "missed_ticks": e.timing.get("missed_ticks", 0)} for e in self.episodes]
        n = len(self.episodes)
        return {"dataset": self.dataset, "task": self.task, "device": self.device, "episodes": n,
                "frames": sum(e.frames for e in self.episodes),
                "success_rate": (sum(bool(e.success) for e in self.episodes) / n) if n else 0.0,
                "seconds": round(self.seconds, 3), "recorded": eps}


def record_station(settings: StationRecordingSettings, progress: Progress = no_progress,
                   should_stop: ShouldStop = never_stop) -> RecordReport:
    """Record ``settings.episodes`` episodes (seeds seed, seed+1, ...) into ``settings.out``."""
    from devices.sim.station import make_station
    from devices.sim.tasks import make_task
    from recorder.format import DEFAULT_IMAGE_CODEC, image_codec
    from recorder.station import StationClock, StationEnd, station_camera_names, station_description

    settings.check()
    make_task(settings.task)  # unknown task → ValueError before anything is created
    image_codec(settings.image_codec or DEFAULT_IMAGE_CODEC)
    opts = SourceOptions(**{**asdict(settings.source), "rate_hz": settings.rate_hz})
    source = make_source(settings.device, opts)
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a dataset folder")
    station = make_station(settings.task, image_size=settings.image_size, cameras=tuple(settings.cameras),
                           perturbations=settings.perturbations or None)
    t0 = time.perf_counter()
    summaries: list[EpisodeSummary] = []
    try:
        station.connect()
        known = station_camera_names(station)
        unknown = [c for c in settings.cameras if c not in known]
        if unknown:
            raise ValueError(f"unknown camera {', '.join(unknown)}; the station has {', '.join(known)}")
        session = RecordingSession(
            out, station, station.cameras, source, clock=StationClock(station),
            settings=SessionSettings(rate_hz=settings.rate_hz, task=settings.task, operator=settings.operator,
                                     station=station_description(station),
                                     image_codec=settings.image_codec or DEFAULT_IMAGE_CODEC,
                                     fsync=settings.fsync,
                                     # a safety net beyond the task's own limit (which StationEnd applies)
                                     max_duration_s=float(station.task.time_limit_s) + settings.tail_s + 5.0))
        for i in range(settings.episodes):
            if should_stop():
                raise Cancelled(f"stopped after {len(summaries)} episodes")
            end = StationEnd(station, tail_s=settings.tail_s)
            summary = session.record_episode(seed=settings.seed + i, end=end, reset=True, should_stop=should_stop)
            summaries.append(summary)
            progress(i + 1, settings.episodes, f"{summary.episode_id}: {summary.frames} frames, "
                                               f"{'success' if summary.success else 'failure'}")
    finally:
        station.disconnect()
    return RecordReport(str(out), settings.task, settings.device, summaries, time.perf_counter() - t0)
