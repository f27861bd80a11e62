"""`demostation export DIR --format robomimic|lerobot|zarr --out PATH`: the curated dataset for other trainers.

Trims are applied, soft-deleted episodes are left out, and the stored train/validation split
becomes the file's filter keys. The formats are the core registry `curation.export_formats`, which
the GUI's Export dialog offers too.
"""

from __future__ import annotations

import argparse
import sys

from curation.export_formats import (
    DEFAULT_CRF,
    DEFAULT_FORMAT,
    DEFAULT_GOP,
    EXPORT_FORMATS,
    ExportOptions,
    describe_export,
)

NAME = "export"
HELP = "export a curated dataset (trims applied, deleted episodes left out) for another trainer"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DIR", help="the dataset folder")
    p.add_argument("--format", choices=sorted(EXPORT_FORMATS), default=DEFAULT_FORMAT, help="output format")
    targets = ", ".join(f"{f.target} for {f.name}" + (f" (e.g. demos{f.suffix})" if f.suffix else "")
                        for f in EXPORT_FORMATS.values())
    p.add_argument("--out", required=True, metavar="PATH", help=f"output {targets}")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--no-next-obs", action="store_true",
                   help="leave out next_obs (half the size; robomimic then needs hdf5_load_next_obs=False)")
    p.add_argument("--video-crf", type=int, default=DEFAULT_CRF, metavar="N",
                   help=f"lerobot: H.264 constant quality, 0 lossless .. 51 worst (default {DEFAULT_CRF})")
    p.add_argument("--video-gop", type=int, default=DEFAULT_GOP, metavar="N",
                   help=f"lerobot: a key frame every N frames (default {DEFAULT_GOP}, as LeRobot: fast random access)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.commands.curate import stderr_progress
    from curation.workspace import open_workspace

    with open_workspace(args.dataset) as ws:
        options = ExportOptions(next_obs=not args.no_next_obs, crf=args.video_crf, gop=args.video_gop)
        report = EXPORT_FORMATS[args.format].export(ws, args.out, overwrite=args.force, options=options,
                                                    progress=stderr_progress())
    s = report.summary()
    if args.json:
        print_json(s)
        return 0
    print(describe_export(s))
    for problem in s["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    return 0
