"""Roll a policy out in the station, headlessly and faster than real time, and score it.

A policy source is anything that implements `Agent` (the scripted expert, a trained checkpoint).
Rollouts are seeded per episode (seed + i), so two evaluations with the same arguments are the
same experiment, and they can be spread over worker processes without changing any result.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from devices.robot import Action
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress


class Agent(Protocol):
    """What the evaluator drives. ``act`` is called once per control tick (10 Hz by default)."""

    name: str
    uses_cameras: bool

    def reset(self, station: "object", seed: int) -> None: ...

    def act(self, station: "object") -> Action: ...


@dataclass
class ExpertAgent:
    """The task's scripted expert as a policy source (privileged state, no cameras)."""

    noise: float = 0.0
    pause_prob: float = 0.0
    mistake_prob: float = 0.0
    name: str = "expert"
    uses_cameras: bool = False

    def reset(self, station: "object", seed: int) -> None:
        from devices.sim.experts import ExpertKnobs

        knobs = ExpertKnobs(noise=self.noise, pause_prob=self.pause_prob, mistake_prob=self.mistake_prob)
        self._expert = station.task.make_expert(station, knobs, np.random.default_rng(seed + 7919))

    def act(self, station: "object") -> Action:
        return self._expert.act()


@dataclass
class EvalSettings:
    task: str = "pick_place"
    episodes: int = 50
    seed: int = 0
    perturbations: dict[str, float] = field(default_factory=dict)
    video_dir: str | None = None
    image_size: int = 96
    cameras: tuple[str, ...] = ("scene", "wrist")
    rate_hz: float = 10.0
    workers: int = 1


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    score: float
    steps: int
    sim_seconds: float
    wall_seconds: float
    info: dict = field(default_factory=dict)  # what the agent reports about the episode (e.g. chunk latencies)


@dataclass
class EvalReport:
    task: str
    policy: str
    episodes: int
    success_rate: float
    mean_score: float
    seconds: float
    sim_seconds: float
    perturbations: dict[str, float]
    results: list[EpisodeResult]

    def summary(self) -> dict:
        d = asdict(self)
        d["results"] = [asdict(r) for r in self.results]
        return d


def _open_video(path: Path, size: int, fps: float):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    return writer


def run_episode(agent: Agent, settings: EvalSettings, seed: int) -> EpisodeResult:
    """One seeded rollout until success or the task's time limit."""
    from devices.sim.station import make_station

    t0 = time.perf_counter()
    record_video = settings.video_dir is not None
    cams = settings.cameras if (agent.uses_cameras or record_video) else ()
    station = make_station(settings.task, image_size=settings.image_size, cameras=cams,
                           perturbations=settings.perturbations)
    writers = {}
    try:
        station.connect()
        station.reset(seed)
        agent.reset(station, seed)
        if record_video:
            out = Path(settings.video_dir)
            out.mkdir(parents=True, exist_ok=True)
            writers = {c: _open_video(out / f"{settings.task}_seed{seed:05d}_{c}.mp4", settings.image_size,
                                      settings.rate_hz) for c in cams}
        dt = 1.0 / settings.rate_hz
        steps = 0
        while True:
            if writers:
                import cv2

                for cam, w in writers.items():
                    w.write(cv2.cvtColor(station.render(cam), cv2.COLOR_RGB2BGR))
            station.send_action(agent.act(station))
            station.step(dt)
            steps += 1
            status = station.status()
            if status.done:
                break
        info = agent.episode_info() if hasattr(agent, "episode_info") else {}
        return EpisodeResult(seed=seed, success=status.success, score=float(status.score), steps=steps,
                             sim_seconds=station.time, wall_seconds=time.perf_counter() - t0, info=info)
    finally:
        for w in writers.values():
            w.release()
        station.disconnect()


def _run_slice(agent: Agent, settings: EvalSettings, seeds: list[int]) -> list[EpisodeResult]:
    return [run_episode(agent, settings, s) for s in seeds]


def evaluate(agent: Agent, settings: EvalSettings, progress: Progress = no_progress,
             should_stop: ShouldStop = never_stop) -> EvalReport:
    """Run ``settings.episodes`` rollouts (in ``settings.workers`` processes) and aggregate them."""
    if settings.episodes < 1:
        raise ValueError("--episodes must be at least 1")
    from devices.sim.perturbations import validate_perturbations
    from devices.sim.tasks import make_task

    make_task(settings.task)  # unknown task → ValueError before any work
    validate_perturbations(settings.perturbations)
    t0 = time.perf_counter()
    seeds = [settings.seed + i for i in range(settings.episodes)]
    results: list[EpisodeResult] = []
    workers = max(1, min(settings.workers, len(seeds)))
    if workers == 1:
        for i, s in enumerate(seeds):
            check_stop(should_stop)
            results.append(run_episode(agent, settings, s))
            progress(i + 1, len(seeds), f"episode {i + 1}/{len(seeds)}")
    else:
        chunks = [seeds[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_run_slice, agent, settings, c) for c in chunks]
            for f in futures:
                results.extend(f.result())
                progress(len(results), len(seeds), "")
        results.sort(key=lambda r: r.seed)
    return EvalReport(
        task=settings.task, policy=agent.name, episodes=len(results),
        success_rate=float(np.mean([r.success for r in results])),
        mean_score=float(np.mean([r.score for r in results])),
        seconds=time.perf_counter() - t0, sim_seconds=float(sum(r.sim_seconds for r in results)),
        perturbations=dict(settings.perturbations), results=results,
    )


def parse_perturbations(items: list[str] | None) -> dict[str, float]:
    """``["lighting:0.5", ...]`` → ``{"lighting": 0.5}``; ValueError with one line otherwise."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, sev = item.partition(":")
        if not sep:
            raise ValueError(f"--perturb takes NAME:SEVERITY (e.g. lighting:0.5), got {item!r}")
        try:
            out[name] = float(sev)
        except ValueError:
            raise ValueError(f"severity in {item!r} is not a number") from None
    return out


AgentFactory = Callable[[], Agent]
