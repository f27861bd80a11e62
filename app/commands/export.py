"""`demostation export DIR --format robomimic --out FILE.h5`: the curated dataset for other trainers.

Trims are applied, soft-deleted episodes are left out, and the stored train/validation split
becomes the file's filter keys. Formats are registered by name in `EXPORTERS`.
"""

from __future__ import annotations

import argparse
import sys

NAME = "export"
HELP = "export a curated dataset (trims applied, deleted episodes left out) for another trainer"


def _robomimic(ws, args, progress):
    from curation.export_robomimic import export_robomimic

    return export_robomimic(ws, args.out, next_obs=not args.no_next_obs, overwrite=args.force, progress=progress)


EXPORTERS = {"robomimic": _robomimic}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DIR", help="the dataset folder")
    p.add_argument("--format", choices=sorted(EXPORTERS), default="robomimic", help="output format")
    p.add_argument("--out", required=True, metavar="FILE", help="output file (e.g. demos.h5)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--no-next-obs", action="store_true",
                   help="leave out next_obs (half the size; robomimic then needs hdf5_load_next_obs=False)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.commands.curate import stderr_progress
    from curation.workspace import open_workspace

    with open_workspace(args.dataset) as ws:
        report = EXPORTERS[args.format](ws, args, stderr_progress())
    s = report.summary()
    if args.json:
        print_json(s)
    else:
        print(f"wrote {s['demos']} demos ({s['samples']} samples, {s['trimmed_samples']} trimmed) to {s['out']}: "
              f"{s['train']} train, {s['valid']} valid (split: {s['split_source']})")
        for problem in s["problems"]:
            print(f"warning: {problem}", file=sys.stderr)
    return 0
