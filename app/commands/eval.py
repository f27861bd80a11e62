"""`demostation eval SOURCE`: roll a policy out in the station and report success and score."""

from __future__ import annotations

import argparse

NAME = "eval"
HELP = "evaluate a policy (`expert`, a training run directory or a checkpoint file) in the embedded station"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="`expert` for the scripted expert, a training run directory or a checkpoint file")
    p.add_argument("--task", default="pick_place", help="station task (default pick_place)")
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="first episode seed; episode i uses seed+i")
    p.add_argument("--perturb", action="append", metavar="NAME:SEVERITY",
                   help="robustness perturbation with severity in [0, 1]; repeatable")
    p.add_argument("--video", metavar="DIR", help="write an MP4 per camera and episode into DIR")
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--workers", type=int, default=1, help="parallel rollout processes")
    p.add_argument("--expert-noise", type=float, default=0.0)
    p.add_argument("--device", default="cpu", help="policy device: cpu (default), cuda or auto")
    p.add_argument("--sample-steps", type=int, help="policy denoising steps (default: the checkpoint's)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for the policy (default 1: batch-1 inference gains little from more, "
                        "and loses badly when the cores are shared)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.errors import UsageError
    from policy.evaluation import EvalSettings, ExpertAgent, evaluate, parse_perturbations

    settings = EvalSettings(task=args.task, episodes=args.episodes, seed=args.seed,
                            perturbations=parse_perturbations(args.perturb), video_dir=args.video,
                            image_size=args.image_size, workers=args.workers)
    if args.sample_steps is not None and args.sample_steps < 1:
        raise UsageError("--sample-steps must be at least 1")
    if args.source == "expert":
        agent = ExpertAgent(noise=args.expert_noise)
    else:
        agent = _policy_agent(args, settings)
    report = evaluate(agent, settings)
    summary = report.summary()
    latencies = [ms for r in report.results for ms in r.info.get("chunk_latency_ms", [])]
    if args.source != "expert":
        from policy.agent import latency_summary

        summary["chunk_latency_ms"] = latency_summary(latencies)
    if args.json:
        summary.pop("results")
        print_json(summary)
    else:
        extra = ""
        if "chunk_latency_ms" in summary:
            lat = summary["chunk_latency_ms"]
            extra = f", chunk latency p50 {lat['p50']:.1f} ms p95 {lat['p95']:.1f} ms"
        print(f"{report.policy} on {report.task}: success {report.success_rate:.0%} over {report.episodes} episodes, "
              f"mean score {report.mean_score:.3f}, {report.seconds:.1f} s{extra}")
    return 0


def _policy_agent(args: argparse.Namespace, settings) -> object:
    """A trained policy from a run directory or checkpoint file; the station renders its cameras."""
    from pathlib import Path

    from app.errors import UsageError
    from policy.agent import PolicyAgent

    if not Path(args.source).exists():
        raise UsageError(f"no policy at {args.source!r}: give `expert`, a training run directory or a checkpoint file")
    if args.threads < 1:
        raise UsageError("--threads must be at least 1")
    agent = PolicyAgent(args.source, device=args.device, sample_steps=args.sample_steps, threads=args.threads)
    runner = agent.load()  # a bad checkpoint fails here, with one line, before any rollout
    if runner.cameras:
        settings.cameras = runner.cameras
    settings.rate_hz = runner.rate_hz
    return agent
