"""`demostation info DIR`: what a dataset holds (episodes, frames, duration, tasks, devices)."""

from __future__ import annotations

import argparse

NAME = "info"
HELP = "summarise a dataset: episodes, frames, duration, rate, tasks, devices, cameras"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DIR", help="dataset folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from recorder.info import dataset_info

    info = dataset_info(args.dataset)
    if args.json:
        print_json(info)
        return 0
    rate = info["rate_hz"]
    print(f"{info['dataset']}: {info['episodes']} episodes ({info['complete']} complete), {info['frames']} frames, "
          f"{info['duration_s']:.1f} s at {rate if rate is not None else '-'} Hz")
    for label in ("tasks", "devices", "cameras"):
        if info[label]:
            print(f"  {label}: " + ", ".join(f"{k} ({v})" for k, v in info[label].items()))
    if info["recovered"]:
        print(f"  recovered after a crash: {', '.join(info['recovered'])}")
    for line in info["recovery_notes"]:
        print(f"  recovery: {line}")
    if info["in_progress"]:
        print(f"  being recorded now: {', '.join(info['in_progress'])}")
    for line in info["problems"]:
        print(f"  problem: {line}")
    return 0
