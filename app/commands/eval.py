"""`demostation eval SOURCE`: roll a policy out in the station through the closed-loop runtime.

SOURCE is `expert` (the scripted expert, one waypoint per period), `expert-chunks` (the scripted
expert served as receding-horizon chunks: the reference for latency studies) or a training run
directory. `--latency` models inference time in simulated time; `--sweep` runs every perturbation
at three severities and writes a table and a plot. See docs/runtime.md.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

from policy.sweep import SWEEP_SEVERITIES

NAME = "eval"
HELP = "evaluate a policy (`expert`, `expert-chunks` or a training run directory) in the embedded station"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="+",
                   help="`expert`, `expert-chunks`, a training run directory or a checkpoint file; several "
                        "(with --sweep) are compared in one robustness report")
    p.add_argument("--checkpoints", action="store_true",
                   help="with --sweep: compare every checkpoint of each run (RUN/checkpoints/*.safetensors)")
    p.add_argument("--task", default="pick_place", help="station task (default pick_place)")
    p.add_argument("--episodes", type=int, default=50, help="episodes (per sweep cell with --sweep)")
    p.add_argument("--seed", type=int, default=0, help="first episode seed; episode i uses seed+i")
    p.add_argument("--perturb", action="append", metavar="NAME:SEVERITY",
                   help="robustness perturbation with severity in [0, 1]; repeatable")
    p.add_argument("--latency", default="0", metavar="auto|0|MS",
                   help="inference latency in simulated time: `auto` (measured), 0 (default) or milliseconds")
    p.add_argument("--n-execute", type=int, metavar="N", help="periods executed per chunk (default: the policy's, 8)")
    p.add_argument("--blend", default="none", choices=("none", "crossfade", "ensemble"),
                   help="how a new chunk meets the old one (default none)")
    p.add_argument("--blend-steps", type=int, default=2, help="crossfade length in waypoints (default 2)")
    p.add_argument("--sweep", action="store_true", help="run every perturbation at three severities; write a report")
    p.add_argument("--severities", default=",".join(f"{s:g}" for s in SWEEP_SEVERITIES),
                   help="sweep severities, comma-separated (default: %(default)s)")
    p.add_argument("--out", metavar="DIR", help="sweep output folder (default RUN/sweep, or ./sweep for experts; "
                                                "./compare when comparing checkpoints)")
    p.add_argument("--video", metavar="DIR", help="write an MP4 per camera and episode into DIR")
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--workers", type=int, default=None,
                   help="rollouts at once: local processes (default 1), or Ray tasks in flight (default: the "
                        "cluster's CPUs)")
    p.add_argument("--backend", default="process", choices=("process", "ray"),
                   help="where rollouts run: local processes (default) or Ray tasks (docs/runtime.md)")
    p.add_argument("--address", metavar="HOST:PORT",
                   help="with --backend ray: the Ray cluster to join (default: start a local one)")
    p.add_argument("--max-retries", type=int, default=3,
                   help="with --backend ray: runs again of a rollout whose worker died (default 3)")
    p.add_argument("--device", default="cpu", help="policy device for a training run: cpu (default), cuda or auto")
    p.add_argument("--expert-noise", type=float, default=0.0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--progress-json", action="store_true",
                   help="report progress as JSON lines on stderr ({\"done\", \"total\", \"message\"}), for front-ends")


EXPERT_SOURCES = ("expert", "expert-chunks")


def _agent(args: argparse.Namespace, settings, blend, source: str, should_stop: Callable[[], bool]):
    """The policy source named on the command line (a registry of built-ins, else a run directory).

    In-process (one worker), the stop request reaches the sampler itself, so a SIGTERM ends even a
    chunk of a thousand denoising steps; workers are stopped by the parent between results.
    """
    from policy.evaluation import ExpertAgent, expert_chunk_agent, policy_chunk_agent

    builders = {
        "expert": lambda: ExpertAgent(noise=args.expert_noise),
        "expert-chunks": lambda: expert_chunk_agent(n_execute=args.n_execute or 8, noise=args.expert_noise,
                                                    blend=blend),
    }
    if source in builders:
        return builders[source]()
    in_process = {"should_stop": should_stop} if settings.workers == 1 else {}
    agent, needs = policy_chunk_agent(source, args.device, args.n_execute, blend, **in_process)
    if needs["cameras"]:
        settings.cameras = needs["cameras"]
    settings.rate_hz = needs["rate_hz"]
    return agent


def _progress(done: int, total: int, message: str = "") -> None:
    print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)


def _progress_json(done: int, total: int, message: str = "") -> None:
    """One line per report: what a front-end parses for a determinate progress bar (docs/runtime.md)."""
    print(json.dumps({"done": int(done), "total": int(total), "message": str(message)}), file=sys.stderr, flush=True)


class _Counted:
    """A progress sink that remembers the last report (the cancel message says how far it got)."""

    def __init__(self, sink) -> None:
        self.sink = sink
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.done, self.total = int(done), int(total)
        self.sink(done, total, message)


@contextmanager
def _stop_on_sigterm() -> Iterator[Callable[[], bool]]:
    """``should_stop`` that turns true on SIGTERM, so a front-end's cancel ends the rollouts between
    episodes and the worker processes are shut down (instead of being killed mid-write)."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: requested.set())
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.errors import JobError, UsageError
    from policy.checkpoint_info import augmentation_of
    from policy.compare import checkpoint_label
    from policy.evaluation import EvalSettings, EvaluationError, evaluate, parse_perturbations
    from policy.runtime.buffer import BlendSettings
    from policy.runtime.runner import parse_latency
    from recorder.jobs import Cancelled

    if args.n_execute is not None and args.n_execute < 1:
        raise UsageError("--n-execute must be at least 1")
    blend = BlendSettings(name=args.blend, steps=args.blend_steps)
    settings = EvalSettings(task=args.task, episodes=args.episodes, seed=args.seed,
                            perturbations=parse_perturbations(args.perturb), video_dir=args.video,
                            image_size=args.image_size, latency_ms=parse_latency(args.latency),
                            workers=args.workers if args.workers is not None else (0 if args.backend == "ray" else 1),
                            backend=args.backend, ray_address=args.address, max_retries=args.max_retries)
    sources = _sources(args)
    if len(sources) > 1 and not args.sweep:
        raise UsageError("comparing checkpoints runs a robustness sweep of each: add --sweep")
    comparing = len(sources) > 1 or args.checkpoints
    sink = _progress_json if args.progress_json else _progress if sys.stderr.isatty() else \
        (lambda done, total, message="": None)
    progress = _Counted(sink)
    try:
        with _stop_on_sigterm() as should_stop:
            agents = [(checkpoint_label(src), src, _agent(args, s, blend, src, should_stop), s)
                      for src, s in ((src, replace(settings)) for src in sources)]
            if comparing:
                return _run_compare(args, agents, progress, should_stop, print_json)
            agent, settings = agents[0][2], agents[0][3]
            if args.sweep:
                return _run_sweep(args, agent, settings, progress, should_stop, print_json)
            report = evaluate(agent, settings, progress=progress, should_stop=should_stop)
    except EvaluationError as exc:
        raise JobError(str(exc)) from exc
    except Cancelled:
        what = "sweep report" if args.sweep else "report"
        print(f"demostation eval: cancelled after {progress.done} / {progress.total} rollouts; no {what} written",
              file=sys.stderr)
        return 1
    summary = report.summary()
    augmentation = augmentation_of(sources[0])
    if augmentation is not None:
        summary["augmentation"] = augmentation
    if args.json:
        summary.pop("results")
        print_json(summary)
    else:
        lat = report.chunk_latency_ms
        lat_text = f", chunk latency p50 {lat['p50']:.1f} ms p95 {lat['p95']:.1f} ms" if lat else ""
        interventions = ", ".join(f"{k} {v}" for k, v in report.safety_interventions.items()) or "none"
        print(f"{report.policy} on {report.task}: success {report.success_rate:.0%} over {report.episodes} episodes, "
              f"mean score {report.mean_score:.3f}, {report.seconds:.1f} s{lat_text}; safety interventions: {interventions}")
        if augmentation is not None:
            from app.commands.train import augmentation_line

            print(f"trained with augmentation: {augmentation_line(augmentation)}")
    if not args.progress_json:  # a worker that died is never silent, even when its retry succeeded
        for line in report.retried:
            print(f"demostation eval: {line}", file=sys.stderr)
    return 0


def _sources(args: argparse.Namespace) -> list[str]:
    """The sources to evaluate: as given, or with --checkpoints every checkpoint file of each run."""
    from app.errors import UsageError
    from policy.compare import run_checkpoints

    if not args.checkpoints:
        return list(args.source)
    if not args.sweep:
        raise UsageError("--checkpoints compares the checkpoints of a run in a robustness sweep: add --sweep")
    out: list[str] = []
    for src in args.source:
        out += [src] if src in EXPERT_SOURCES else [str(p) for p in run_checkpoints(src)]
    return out


def _severities(args: argparse.Namespace) -> tuple[float, ...]:
    try:
        return tuple(float(s) for s in args.severities.split(","))
    except ValueError:
        raise ValueError(f"--severities takes numbers separated by commas, got {args.severities!r}") from None


def _run_compare(args, agents, progress, should_stop, print_json) -> int:
    from policy.compare import compare_checkpoints, write_compare

    if agents[0][3].perturbations:
        raise ValueError("--sweep runs every perturbation itself; leave out --perturb")
    report = compare_checkpoints(agents, _severities(args), progress=progress, should_stop=should_stop)
    paths = write_compare(report, Path(args.out) if args.out else Path("compare"))
    if args.json:
        summary = report.summary()
        summary["files"] = {k: str(v) for k, v in paths.items()}
        print_json(summary)
    else:
        base = ", ".join(f"{lab} {sw.baseline.success_rate:.0%}" for lab, sw in zip(report.labels, report.sweeps, strict=True))
        print(f"compared {len(report.labels)} checkpoints on {report.task} (baseline success: {base}); "
              f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _run_sweep(args, agent, settings, progress, should_stop, print_json) -> int:
    from policy.checkpoint_info import augmentation_of
    from policy.sweep import run_sweep, write_sweep

    if settings.perturbations:
        raise ValueError("--sweep runs every perturbation itself; leave out --perturb")
    severities = _severities(args)
    source = args.source[0]
    out = Path(args.out) if args.out else (Path("sweep") if source in EXPERT_SOURCES else Path(source) / "sweep")
    report = run_sweep(agent, settings, severities, progress=progress, should_stop=should_stop)
    paths = write_sweep(report, out)
    augmentation = augmentation_of(source)
    if args.json:
        summary = report.summary()
        summary["files"] = {k: str(v) for k, v in paths.items()}
        if augmentation is not None:
            summary["augmentation"] = augmentation
        print_json(summary)
    else:
        if augmentation is not None:
            from app.commands.train import augmentation_line

            print(f"trained with augmentation: {augmentation_line(augmentation)}")
        print(f"sweep of {report.policy} on {report.task}: baseline success {report.baseline.success_rate:.0%}, "
              f"{len(report.cells)} perturbed cells, {report.seconds:.1f} s; wrote {', '.join(str(p) for p in paths.values())}")
    return 0
