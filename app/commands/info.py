"""`demostation info DIR`: what a dataset holds (episodes, frames, duration, tasks, devices)."""

from __future__ import annotations

import argparse

NAME = "info"
HELP = ("summarise a dataset (episodes, frames, duration, rate, tasks, devices, cameras, scenes) "
        "or a training run / checkpoint (policy, training augmentations)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DIR", help="dataset folder, training run directory or checkpoint file")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from policy.checkpoint_info import is_checkpoint_source
    from recorder.info import dataset_info

    if is_checkpoint_source(args.dataset):
        return _checkpoint(args, print_json)
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
    if info["scenes"]:
        print(f"  scenes ({info['randomized']} randomised episodes): " + ", ".join(
            f"{k} {v['min']:g}-{v['max']:g} (mean {v['mean']:g}, {v['episodes']} perturbed)"
            for k, v in info["scenes"].items()))
    if info["recovered"]:
        print(f"  recovered after a crash: {', '.join(info['recovered'])}")
    for line in info["recovery_notes"]:
        print(f"  recovery: {line}")
    if info["in_progress"]:
        print(f"  being recorded now: {', '.join(info['in_progress'])}")
    for line in info["problems"]:
        print(f"  problem: {line}")
    return 0


def _checkpoint(args: argparse.Namespace, print_json) -> int:
    from app.commands.train import augmentation_line
    from policy.checkpoint_info import checkpoint_info

    info = checkpoint_info(args.dataset)
    if args.json:
        print_json(info)
        return 0
    p = info["policy"]
    print(f"{info['checkpoint']}: step {info['step']}, {p['head']} head, {p['objective']}, {p['encoder']} encoder, "
          f"cameras {', '.join(p['cameras']) or 'none'}")
    print(f"  trained on {info['dataset'].get('episodes', '?')} episodes, batch {info['train']['batch_size']}, "
          f"seed {info['train']['seed']}")
    print(f"  augmentation: {augmentation_line(info['augmentation'])}")
    return 0
