"""`demostation import SRC --from lerobot|robomimic --out DATA`: another ecosystem's dataset as a
Demo Station dataset (pauses detected, trims, tags and outcomes then work as on a recording), with
each episode's provenance kept in its file and in the catalog."""

from __future__ import annotations

import argparse

NAME = "import"
HELP = "import a LeRobot v3.0 dataset folder or a robomimic HDF5 file as a new Demo Station dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SRC", help="a LeRobot dataset folder or a robomimic .h5 file")
    p.add_argument("--from", dest="kind", required=True, choices=["lerobot", "robomimic"], help="what SRC is")
    p.add_argument("--out", required=True, metavar="DIR", help="the new dataset folder")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--rate", type=float, default=10.0, metavar="HZ",
                   help="robomimic: the recording rate when the file does not say it (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.cli import print_json
    from app.commands.curate import stderr_progress
    from curation.export_plan import refuse_inside_dataset
    from curation.importer import import_episodes, read_lerobot, read_robomimic

    src = Path(args.source)
    out = Path(args.out)
    if src.resolve() == out.resolve() or src.resolve() in out.resolve().parents:
        raise ValueError(f"{out} is inside the source {src}; write the new dataset elsewhere")
    if out.exists() and (out / "episodes").is_dir():
        refuse_inside_dataset(out, src)  # never replace the dataset the source lies in
    episodes = read_lerobot(src) if args.kind == "lerobot" else read_robomimic(src, rate_hz=args.rate)
    report = import_episodes(episodes, out, args.kind, str(src), overwrite=args.force, progress=stderr_progress())
    s = report.summary()
    if args.json:
        print_json(s)
    else:
        print(f"imported {s['episodes']} episodes ({s['frames']} frames, cameras {', '.join(s['cameras']) or 'none'}) "
              f"from {s['from']} {s['source']} into {s['out']}")
    return 0
