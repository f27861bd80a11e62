"""Roll a policy out in the station, headlessly and faster than real time, and score it.

Every rollout goes through the closed-loop runtime a robot would run (`policy.runtime`): an
observation history, a chunk predictor, the timestamped action buffer, and the 100 Hz safety
controller, with inference latency modelled in simulated time. So what is evaluated is what would
run on the robot, and the report says how long chunks took and how often the safety filter had to
step in.

A policy source is an `Agent`: either a step-by-step one (``act(station)`` at 10 Hz, like the
scripted `ExpertAgent`), which is run as chunks of one waypoint, or a `ChunkAgent` wrapping any
`ChunkPredictor` (a trained diffusion policy, `ScriptedExpertPredictor`). Rollouts are seeded per
episode (seed + i), so two evaluations with the same arguments are the same experiment (exactly so
with a fixed ``--latency``), and they can be spread over worker processes without changing any
result.
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import os
import queue as queue_module
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from devices.robot import Action
from devices.safety import SafetyLimits
from policy.runtime.buffer import BlendSettings
from policy.runtime.predictors import ChunkPredictor, ScriptedExpertPredictor, StationAware, StepAgentPredictor
from policy.runtime.runner import ChunkRunner, RuntimeSettings
from recorder.jobs import Cancelled, Progress, ShouldStop, check_stop, never_stop, no_progress


class Agent(Protocol):
    """A step-by-step policy source. ``act`` is called once per control period (10 Hz by default)."""

    name: str
    uses_cameras: bool

    def reset(self, station: "object", seed: int) -> None: ...

    def act(self, station: "object") -> Action: ...


class EvaluationError(RuntimeError):
    """An episode failed (the message names its seed and the cause, on one line)."""


@dataclass
class ExpertAgent:
    """The task's scripted expert as a policy source (privileged state, no cameras)."""

    noise: float = 0.0
    pause_prob: float = 0.0
    mistake_prob: float = 0.0
    name: str = "expert"
    uses_cameras: bool = False

    def reset(self, station: "object", seed: int) -> None:
        from devices.sim.experts import ExpertKnobs, episode_expert

        knobs = ExpertKnobs(noise=self.noise, pause_prob=self.pause_prob, mistake_prob=self.mistake_prob)
        self._expert = episode_expert(station, knobs, seed)

    def act(self, station: "object") -> Action:
        return self._expert.act()

    def __getstate__(self) -> dict:  # an episode's expert (a generator) stays behind
        state = dict(self.__dict__)
        state.pop("_expert", None)
        return state


@dataclass
class ChunkAgent:
    """A `ChunkPredictor` run through the receding-horizon runner (what a trained policy is).

    ``factory`` builds the predictor; it must be picklable (a class, a module-level function or a
    ``functools.partial`` of one) because each worker process builds its own predictor, once.
    """

    factory: Callable[[], ChunkPredictor]
    name: str = "policy"
    uses_cameras: bool = True
    n_obs_steps: int = 2
    n_execute: int = 8
    due_offset: int = 0
    blend: BlendSettings = field(default_factory=BlendSettings)

    def __post_init__(self) -> None:
        self._predictor: ChunkPredictor | None = None

    def __getstate__(self) -> dict:  # the predictor is rebuilt in the worker process
        state = dict(self.__dict__)
        state["_predictor"] = None
        return state

    def predictor(self) -> ChunkPredictor:
        if self._predictor is None:
            self._predictor = self.factory()
        return self._predictor

    def runtime_settings(self, settings: "EvalSettings") -> RuntimeSettings:
        return RuntimeSettings(rate_hz=settings.rate_hz, control_hz=settings.control_hz, n_obs_steps=self.n_obs_steps,
                               n_execute=self.n_execute, latency_ms=settings.latency_ms, blend=self.blend,
                               due_offset=self.due_offset)


def expert_chunk_agent(horizon: int = 16, n_execute: int = 8, noise: float = 0.0,
                       blend: BlendSettings | None = None) -> ChunkAgent:
    """The scripted expert served as receding-horizon chunks: the reference for latency studies."""
    return ChunkAgent(partial(ScriptedExpertPredictor, horizon=horizon, noise=noise), name="expert-chunks",
                      uses_cameras=False, n_obs_steps=1, n_execute=n_execute, due_offset=1,
                      blend=blend or BlendSettings())


def policy_chunk_agent(source: str | Path, device: str = "cpu", n_execute: int | None = None,
                       blend: BlendSettings | None = None,
                       should_stop: ShouldStop = never_stop) -> tuple[ChunkAgent, dict]:
    """A trained policy (run directory or checkpoint) as a `ChunkAgent`, plus what evaluation must
    match (``cameras``, ``rate_hz``). Loads it once here, so a bad checkpoint fails before any rollout.

    Relies on ``policy.inference.DiffusionPolicyRunner`` (``from_checkpoint``, ``reset(seed)``,
    ``predict_chunk(history)``, ``cameras``, ``obs_steps``, ``action_steps``, ``rate_hz``).
    ``should_stop`` reaches the sampler (polled per denoising step); it must be picklable when the
    agent goes to worker processes, so pass it only for in-process evaluation.
    """
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no policy at {str(source)!r}: give `expert`, `expert-chunks` or a training run directory")
    try:
        from policy.inference import DiffusionPolicyRunner
    except ImportError:
        raise ValueError("this build has no policy loader (policy.inference); only `expert` sources can be evaluated") from None
    probe = DiffusionPolicyRunner.from_checkpoint(str(path), device)
    factory = partial(DiffusionPolicyRunner.from_checkpoint, str(path), device, should_stop=should_stop)
    agent = ChunkAgent(factory, name=f"policy:{path.name}",
                       uses_cameras=bool(probe.cameras), n_obs_steps=int(probe.obs_steps),
                       n_execute=int(n_execute or probe.action_steps), blend=blend or BlendSettings())
    return agent, {"cameras": tuple(probe.cameras), "rate_hz": float(probe.rate_hz)}


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
    latency_ms: float | None = 0.0  # None: "auto", the measured wall time of each prediction
    control_hz: float = 100.0
    safety: SafetyLimits | None = None  # None: the defaults, with the station's workspace box
    backend: str = "process"  # a name in BACKENDS: "process" (local processes) or "ray"
    ray_address: str | None = None  # None: a local Ray cluster started for the evaluation
    max_retries: int = 3  # Ray: how often a rollout whose worker died is run again


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    score: float
    steps: int
    sim_seconds: float
    wall_seconds: float
    interventions: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    latency_ms: list[float] = field(default_factory=list)  # applied per chunk (simulated time)
    predict_ms: list[float] = field(default_factory=list)  # measured wall time per chunk
    dropped_waypoints: int = 0
    perturbations: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # what the agent reports about the episode

    def summary(self) -> dict:
        d = asdict(self)
        d["latency_ms"] = percentiles(self.latency_ms)
        d["predict_ms"] = percentiles(self.predict_ms)
        return d


def percentiles(values: list[float]) -> dict[str, float] | None:
    """p50 / p95 / mean / max / n of a list of milliseconds (None when there are none)."""
    if not values:
        return None
    a = np.asarray(values, dtype=float)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "mean": float(a.mean()),
            "max": float(a.max()), "n": int(a.size)}


def total_interventions(results: list[EpisodeResult]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        for kind, n in r.interventions.items():
            out[kind] = out.get(kind, 0) + int(n)
    return dict(sorted(out.items()))


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
    latency: str = "0"  # "auto" or the fixed milliseconds
    chunk_latency_ms: dict[str, float] | None = None
    predict_ms: dict[str, float] | None = None
    safety_interventions: dict[str, int] = field(default_factory=dict)
    workers: int = 1
    rollouts_per_hour: float = 0.0
    backend: str = "process"
    retried: list[str] = field(default_factory=list)  # rollouts run again because their worker died

    def summary(self) -> dict:
        d = asdict(self)
        d["results"] = [r.summary() for r in self.results]
        return d


def latency_label(latency_ms: float | None) -> str:
    return "auto" if latency_ms is None else f"{latency_ms:g}"


def make_report(agent_name: str, settings: EvalSettings, results: list[EpisodeResult], seconds: float,
                workers: int, backend: str = "process", retried: list[str] | None = None) -> EvalReport:
    return EvalReport(
        task=settings.task, policy=agent_name, episodes=len(results),
        success_rate=float(np.mean([r.success for r in results])),
        mean_score=float(np.mean([r.score for r in results])),
        seconds=seconds, sim_seconds=float(sum(r.sim_seconds for r in results)),
        perturbations=dict(settings.perturbations), results=results,
        latency=latency_label(settings.latency_ms),
        chunk_latency_ms=percentiles([x for r in results for x in r.latency_ms]),
        predict_ms=percentiles([x for r in results for x in r.predict_ms]),
        safety_interventions=total_interventions(results), workers=workers,
        rollouts_per_hour=len(results) / seconds * 3600.0 if seconds > 0 else 0.0,
        backend=backend, retried=list(retried or []),
    )


# -- one episode -----------------------------------------------------------------------------------

def _open_video(path: Path, size: int, fps: float):
    """An H.264 MP4 a browser plays (the same PyAV writer as the dataset exports); odd sizes are padded."""
    from recorder.video import Mp4Writer, even_size

    return Mp4Writer(path, *even_size(size, size), fps)


def _runner_for(agent: object, settings: EvalSettings) -> ChunkRunner:
    """The runtime for an agent: its own predictor and settings, or a step agent as 1-waypoint chunks."""
    if isinstance(agent, ChunkAgent):
        return ChunkRunner(agent.predictor(), agent.runtime_settings(settings))
    step = RuntimeSettings(rate_hz=settings.rate_hz, control_hz=settings.control_hz, n_obs_steps=1, n_execute=1,
                           latency_ms=settings.latency_ms, due_offset=1)
    return ChunkRunner(StepAgentPredictor(agent), step)


def _reset_predictor(predictor: ChunkPredictor, seed: int) -> None:
    """``reset()``, with the episode seed where the predictor takes one (reproducible sampling)."""
    try:
        takes_seed = "seed" in inspect.signature(predictor.reset).parameters
    except (TypeError, ValueError):
        takes_seed = False
    if takes_seed:
        predictor.reset(seed=seed)
    else:
        predictor.reset()


def run_episode(agent: Agent | ChunkAgent, settings: EvalSettings, seed: int) -> EpisodeResult:
    """One seeded rollout until success or the task's time limit."""
    from devices.safety import limits_for
    from devices.sim.station import make_station
    from policy.runtime.rollout import run_rollout

    t0 = time.perf_counter()
    record_video = settings.video_dir is not None
    cams = settings.cameras if (agent.uses_cameras or record_video) else ()
    station = make_station(settings.task, image_size=settings.image_size, cameras=cams,
                           perturbations=settings.perturbations)
    writers = {}
    try:
        station.connect()
        station.reset(seed)
        runner = _runner_for(agent, settings)
        runner.reset()
        _reset_predictor(runner.predictor, seed)
        if isinstance(runner.predictor, StationAware):
            runner.predictor.attach(station, seed)
        on_period = None
        if record_video:
            out = Path(settings.video_dir)
            out.mkdir(parents=True, exist_ok=True)
            writers = {c: _open_video(out / f"{settings.task}_seed{seed:05d}_{c}.mp4", settings.image_size,
                                      settings.rate_hz) for c in cams}

            def on_period(now: float) -> None:
                from recorder.video import pad_even

                for cam, w in writers.items():
                    w.write(pad_even(station.render(cam)))

        res = run_rollout(station, runner, limits_for(station, settings.safety),
                          cameras=tuple(cams) if agent.uses_cameras else (), on_period=on_period)
        info = agent.episode_info() if hasattr(agent, "episode_info") else {}
        return EpisodeResult(seed=seed, success=res.success, score=res.score, steps=res.periods,
                             sim_seconds=res.sim_seconds, wall_seconds=time.perf_counter() - t0,
                             interventions=res.interventions, chunks=res.stats.chunks,
                             latency_ms=res.stats.latency_ms, predict_ms=res.stats.predict_ms,
                             dropped_waypoints=res.stats.dropped_waypoints,
                             perturbations=dict(settings.perturbations), info=info)
    except BaseException:
        for w in writers.values():  # the episode failed (a full disk, a stop): no half video stays
            w.abort()
        raise
    finally:
        try:
            for w in writers.values():
                w.close()  # no-op after abort
        finally:
            station.disconnect()


# -- many episodes, in this process or in workers --------------------------------------------------

Job = tuple[EvalSettings, int]  # (settings, seed)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split()) or type(exc).__name__}"


def _limit_threads(threads: int) -> None:
    """Give this worker process its share of the cores for inference.

    Each worker otherwise starts as many torch threads as the machine has cores; with several
    workers the threads fight over the cores (measured on the 2-core machine: a small policy took
    ~350 ms per chunk with 2 threads under load, ~35 ms with 1). Only this process is affected.
    """
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read when torch is imported later
    torch = sys.modules.get("torch")  # already imported while unpickling a policy agent
    if torch is not None:
        torch.set_num_threads(threads)


def run_job(agent: object, settings: EvalSettings, seed: int) -> tuple[str, EpisodeResult | str]:
    """One rollout as every executor runs it: ``("result", EpisodeResult)`` or ``("error", line)``.

    The single per-episode function behind the process pool and the Ray tasks (`policy.ray_backend`),
    so both backends compute exactly the same episodes; an exception becomes one line naming the seed.
    """
    try:
        return "result", run_episode(agent, settings, seed)
    except (Cancelled, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - reported as one line; the caller decides what to do
        return "error", f"episode seed {seed} failed: {_one_line(exc)}"


def _worker_main(agent: object, jobs: list[tuple[int, EvalSettings, int]], results: "mp.Queue",
                 stop: "mp.synchronize.Event", threads: int = 1) -> None:
    """A worker process: run its share of the jobs, report each as it finishes, stop on request."""
    _limit_threads(threads)
    for index, settings, seed in jobs:
        if stop.is_set():
            return
        kind, payload = run_job(agent, settings, seed)
        results.put((kind, index, payload))
        if kind == "error":
            return


class RolloutExecutor(Protocol):
    """Where rollouts run: this process and local worker processes, or Ray tasks on a cluster.

    ``run`` returns one result per (settings, seed) job, in job order, calling ``progress`` once per
    finished rollout and raising `Cancelled` when ``should_stop`` turns true, `EvaluationError` (one
    line, with the seed) when an episode fails. ``name`` and ``workers`` go into the report;
    ``retried`` lists the rollouts that had to be run again because their worker died.
    """

    name: str
    workers: int
    retried: list[str]

    def run(self, agent: object, jobs: list[Job], progress: Progress, should_stop: ShouldStop,
            describe: Callable[[EpisodeResult], str]) -> list[EpisodeResult]: ...


@dataclass
class LocalProcesses:
    """Rollouts in this process (``workers == 1``) or in ``workers`` spawned processes.

    A worker that dies (killed, out of memory) fails the evaluation with one line naming it; its
    episodes are never silently dropped.
    """

    workers: int = 1
    name: str = "process"
    retried: list[str] = field(default_factory=list)

    def run(self, agent: object, jobs: list[Job], progress: Progress, should_stop: ShouldStop,
            describe: Callable[[EpisodeResult], str]) -> list[EpisodeResult]:
        total = len(jobs)
        self.workers = workers = max(1, min(int(self.workers), total))
        out: list[EpisodeResult | None] = [None] * total
        if workers == 1:
            for i, (settings, seed) in enumerate(jobs):
                check_stop(should_stop)
                kind, payload = run_job(agent, settings, seed)
                if kind == "error":
                    raise EvaluationError(payload)
                out[i] = payload
                progress(i + 1, total, describe(payload))
            return out  # type: ignore[return-value]
        return self._run_pool(agent, jobs, progress, should_stop, describe)

    def _run_pool(self, agent: object, jobs: list[Job], progress: Progress, should_stop: ShouldStop,
                  describe: Callable[[EpisodeResult], str]) -> list[EpisodeResult]:
        total, workers = len(jobs), self.workers
        out: list[EpisodeResult | None] = [None] * total
        ctx = get_context("spawn")
        results = ctx.Queue()
        stop = ctx.Event()
        indexed = [(i, s, seed) for i, (s, seed) in enumerate(jobs)]
        threads = max(1, (os.cpu_count() or 1) // workers)
        procs = [ctx.Process(target=_worker_main, args=(agent, indexed[w::workers], results, stop, threads),
                             daemon=True, name=f"demostation-eval-{w}") for w in range(workers)]
        for p in procs:
            p.start()
        done = 0
        try:
            while done < total:
                try:
                    kind, index, payload = results.get(timeout=0.2)
                except queue_module.Empty:
                    if should_stop():
                        raise Cancelled("stopped by request") from None
                    dead = [p for p in procs if p.exitcode not in (None, 0)]
                    if dead:
                        # give a message it sent just before dying the chance to arrive first
                        try:
                            kind, index, payload = results.get(timeout=0.5)
                        except queue_module.Empty:
                            p = dead[0]
                            raise EvaluationError(f"worker process {p.name} died (exit code {p.exitcode}) before "
                                                  f"finishing its episodes; rerun with --workers 1 to see why") from None
                    else:
                        continue
                if kind == "error":
                    raise EvaluationError(payload)
                out[index] = payload
                done += 1
                progress(done, total, describe(payload))
                if should_stop() and done < total:
                    raise Cancelled("stopped by request")
        finally:
            stop.set()
            for p in procs:
                p.join(timeout=5.0)
            for p in procs:
                if p.is_alive():
                    p.terminate()
                    p.join(timeout=2.0)
            results.close()
            results.join_thread()
        return out  # type: ignore[return-value]


def _ray_executor(settings: EvalSettings) -> RolloutExecutor:
    from importlib.util import find_spec

    if find_spec("ray") is None:
        raise ValueError("--backend ray needs Ray: pip install 'demostation[ray]' (scripts/setup.sh installs it)")
    from policy.ray_backend import RayTasks  # ray itself is imported only when rollouts start

    return RayTasks(address=settings.ray_address, workers=settings.workers, max_retries=settings.max_retries)


# Executors by the name `--backend` takes (a registry, not an if/elif ladder).
BACKENDS: dict[str, Callable[[EvalSettings], RolloutExecutor]] = {
    "process": lambda settings: LocalProcesses(settings.workers),
    "ray": _ray_executor,
}


def executor_for(settings: EvalSettings) -> RolloutExecutor:
    """The executor ``settings.backend`` names (ValueError, one line, for an unknown one)."""
    try:
        return BACKENDS[settings.backend](settings)
    except KeyError:
        raise ValueError(f"unknown backend {settings.backend!r}: choose one of {', '.join(BACKENDS)}") from None


def run_jobs(agent: object, jobs: list[Job], workers: int = 1, progress: Progress = no_progress,
             should_stop: ShouldStop = never_stop,
             describe: Callable[[EpisodeResult], str] | None = None,
             executor: RolloutExecutor | None = None) -> list[EpisodeResult]:
    """Run (settings, seed) rollouts on ``executor`` (default: ``workers`` local processes); results
    in job order.

    Progress is reported per finished episode, its message ``describe(result)`` (default: seed and
    outcome; a sweep adds the perturbation). The first failing episode stops the others and is
    raised as one `EvaluationError` line (with its seed); a worker that dies (killed, out of
    memory) is reported the same way by the process pool, and retried by Ray; `should_stop`
    cancels between episodes (`Cancelled`).
    """
    executor = executor or LocalProcesses(workers)
    return executor.run(agent, jobs, progress, should_stop, describe or episode_line)


def episode_line(r: EpisodeResult) -> str:
    return f"seed {r.seed}: {'success' if r.success else 'failure'} (score {r.score:.2f}, {r.wall_seconds:.1f} s)"


def validate_settings(settings: EvalSettings) -> None:
    """Raise ValueError (one line) for anything that would only fail inside a rollout."""
    from devices.sim.perturbations import validate_perturbations
    from devices.sim.tasks import make_task

    if settings.episodes < 1:
        raise ValueError("--episodes must be at least 1")
    if settings.backend not in BACKENDS:
        raise ValueError(f"unknown backend {settings.backend!r}: choose one of {', '.join(BACKENDS)}")
    if settings.workers < (0 if settings.backend == "ray" else 1):
        raise ValueError("--workers must be at least 1")
    if settings.max_retries < 0:
        raise ValueError("--max-retries must be 0 or more")
    if settings.ray_address is not None and settings.backend != "ray":
        raise ValueError("--address names a Ray cluster: use it with --backend ray")
    make_task(settings.task)  # unknown task → ValueError before any work
    validate_perturbations(settings.perturbations)
    RuntimeSettings(rate_hz=settings.rate_hz, control_hz=settings.control_hz, latency_ms=settings.latency_ms)


def evaluate(agent: Agent | ChunkAgent, settings: EvalSettings, progress: Progress = no_progress,
             should_stop: ShouldStop = never_stop) -> EvalReport:
    """Run ``settings.episodes`` rollouts (on ``settings.backend``, ``settings.workers`` at a time)
    and aggregate them."""
    validate_settings(settings)
    executor = executor_for(settings)
    t0 = time.perf_counter()
    jobs = [(settings, settings.seed + i) for i in range(settings.episodes)]
    results = run_jobs(agent, jobs, progress=progress, should_stop=should_stop, executor=executor)
    return make_report(agent.name, settings, results, time.perf_counter() - t0, executor.workers,
                       executor.name, executor.retried)


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


def with_perturbations(settings: EvalSettings, perturbations: dict[str, float]) -> EvalSettings:
    return replace(settings, perturbations=dict(perturbations))


AgentFactory = Callable[[], Agent]
