"""`demostation eval SOURCE`: roll a policy out in the station and report success and score."""

from __future__ import annotations

import argparse

NAME = "eval"
HELP = "evaluate a policy (`expert`, or a training run directory) in the embedded station"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="`expert` for the scripted expert, or a training run directory")
    p.add_argument("--task", default="pick_place", help="station task (default pick_place)")
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="first episode seed; episode i uses seed+i")
    p.add_argument("--perturb", action="append", metavar="NAME:SEVERITY",
                   help="robustness perturbation with severity in [0, 1]; repeatable")
    p.add_argument("--video", metavar="DIR", help="write an MP4 per camera and episode into DIR")
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--workers", type=int, default=1, help="parallel rollout processes")
    p.add_argument("--expert-noise", type=float, default=0.0)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.errors import UsageError
    from policy.evaluation import EvalSettings, ExpertAgent, evaluate, parse_perturbations

    settings = EvalSettings(task=args.task, episodes=args.episodes, seed=args.seed,
                            perturbations=parse_perturbations(args.perturb), video_dir=args.video,
                            image_size=args.image_size, workers=args.workers)
    if args.source != "expert":
        raise UsageError(f"no policy at {args.source!r}: give `expert` or a training run directory")
    agent = ExpertAgent(noise=args.expert_noise)
    report = evaluate(agent, settings)
    summary = report.summary()
    if args.json:
        summary.pop("results")
        print_json(summary)
    else:
        print(f"{report.policy} on {report.task}: success {report.success_rate:.0%} over {report.episodes} episodes, "
              f"mean score {report.mean_score:.3f}, {report.seconds:.1f} s")
    return 0
