"""`demostation validate DIR`: exit 0 when every episode is sound, 1 otherwise, listing each problem."""

from __future__ import annotations

import argparse

NAME = "validate"
HELP = "check every episode of a dataset (readable, complete keys, no NaN, monotonic time, rate within 5 percent)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DIR", help="dataset folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from recorder.validate import validate_dataset

    report = validate_dataset(args.dataset)
    if args.json:
        print_json(report.as_dict())
    else:
        for line in report.notes:
            print(f"recovery: {line}")
        for p in report.problems:
            print(p.line())
        verdict = "all sound" if report.ok else f"{len(report.problems)} problems"
        print(f"{report.root}: {report.episodes} episodes checked, {report.sound} sound; {verdict}")
    return 0 if report.ok else 1
