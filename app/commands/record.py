"""`demostation record`: record demonstrations from the embedded station, through its safety controller.

``--device expert`` (default) and ``replay:FILE`` record headlessly in simulated time; a live teleop
device (``spacemouse``, ``openxr``, ``haptic``, ...) records in real time, its buttons driving the
episodes. See docs/recording.md.
"""

from __future__ import annotations

import argparse
import sys

NAME = "record"
HELP = "record demonstrations from the embedded station into a dataset (expert or teleop device)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="dataset folder (created; episodes are appended)")
    p.add_argument("--task", default="pick_place", help="station task (default pick_place)")
    p.add_argument("--device", default="expert", metavar="SPEC",
                   help="command source: expert (default, the scripted expert), a teleop device "
                        "(keyboard, spacemouse[:VID:PID], openxr[:left|right], haptic[:SDK], handheld[:...]) "
                        "or replay:FILE (a recorded device stream, in simulated time)")
    p.add_argument("--episodes", type=int, default=1, help="number of episodes (default 1)")
    p.add_argument("--rate", type=float, default=10.0, help="recording rate in Hz (default 10)")
    p.add_argument("--cameras", default="scene,wrist", help="comma-separated camera names ('' for none)")
    p.add_argument("--image-size", type=int, default=96, help="square image size in pixels (default 96)")
    p.add_argument("--seed", type=int, default=0, help="first episode seed; episode i uses seed+i")
    p.add_argument("--operator", default="", help="who recorded (stored with every episode)")
    p.add_argument("--tail", type=float, default=1.0, help="seconds recorded after the task succeeds (default 1)")
    p.add_argument("--perturb", action="append", metavar="NAME:SEVERITY",
                   help="record under a robustness perturbation; repeatable")
    p.add_argument("--randomize", metavar="NAME:LOW-HIGH,...",
                   help="draw each episode's scene from perturbation severity ranges, e.g. "
                        "object_color:0-0.5,table_color:0-0.5 (stored with every episode)")
    p.add_argument("--from-sweep", metavar="SWEEP",
                   help="targeted re-collection: record under a cell of this sweep report (sweep.json or its "
                        "folder); the episodes are tagged sweep:NAME@SEVERITY")
    p.add_argument("--cell", default="worst", metavar="NAME:SEVERITY",
                   help="with --from-sweep: the cell (default worst: the lowest success)")
    p.add_argument("--expert-noise", type=float, default=0.0, help="expert action noise std (m)")
    p.add_argument("--expert-pause-prob", type=float, default=0.0, help="expert idle-pause probability")
    p.add_argument("--expert-mistake-prob", type=float, default=0.0, help="expert mistake+recovery probability")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.errors import JobError, UsageError
    from devices.sim.randomization import parse_ranges
    from devices.teleop import DeviceUnavailable
    from policy.evaluation import parse_perturbations
    from recorder.dataset import require_recordable
    from recorder.errors import RecordingError, UnwritableDatasetError
    from recorder.record import StationRecordingSettings, record_station
    from recorder.sources import SourceOptions

    if args.out:
        require_recordable(args.out)
    cameras = tuple(c.strip() for c in args.cameras.split(",") if c.strip())
    perturbations, tags = parse_perturbations(args.perturb), ()
    if args.from_sweep:
        from policy.sweep_cells import load_sweep, pick_cell

        cell = pick_cell(load_sweep(args.from_sweep), args.cell)
        if cell.perturbation in perturbations:
            raise UsageError(f"--perturb {cell.perturbation} and --from-sweep's cell name the same perturbation")
        perturbations, tags = {**perturbations, **cell.perturbations}, (cell.tag,)
        if not args.json:
            print(f"recording under {cell.perturbation} severity {cell.severity:g} (the sweep's success there: "
                  f"{cell.success_rate:.0%} of {cell.episodes}); episodes tagged {cell.tag}", file=sys.stderr)
    elif args.cell != "worst":
        raise UsageError("--cell goes with --from-sweep")
    settings = StationRecordingSettings(
        out=args.out, task=args.task, device=args.device, episodes=args.episodes, rate_hz=args.rate,
        cameras=cameras, image_size=args.image_size, seed=args.seed, operator=args.operator, tail_s=args.tail,
        perturbations=perturbations, randomize=parse_ranges(args.randomize), tags=tags,
        source=SourceOptions(expert_noise=args.expert_noise, expert_pause_prob=args.expert_pause_prob,
                             expert_mistake_prob=args.expert_mistake_prob))

    def progress(done: int, total: int, message: str = "") -> None:
        if not args.json:
            print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    def notice(line: str) -> None:  # a device lost / back: always visible, one line
        print(f"demostation record: {line}", file=sys.stderr, flush=True)

    try:
        report = record_station(settings, progress=progress, notice=notice)
    except DeviceUnavailable as exc:  # no SpaceMouse plugged in, no OpenXR runtime, ...: bad input
        raise UsageError(str(exc)) from None
    except UnwritableDatasetError as exc:
        raise UsageError(str(exc)) from exc  # the --out the user gave: bad input, status 2
    except RecordingError as exc:
        raise JobError(str(exc)) from exc
    summary = report.summary()
    if report.problem:  # a corrupt replay: what was recorded is kept, the input is reported
        if args.json:
            print_json(summary)
        raise UsageError(f"{report.problem} (recorded {summary['episodes']} episode(s) before it into "
                         f"{summary['dataset']})")
    if args.json:
        print_json(summary)
    else:
        print(f"recorded {summary['episodes']} episodes ({summary['frames']} frames, success "
              f"{summary['success_rate']:.0%}) into {summary['dataset']} in {summary['seconds']:.1f} s")
    return 0
