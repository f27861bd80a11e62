"""`demostation train DATASET --out RUN`: train a diffusion policy on a (curated) dataset.

Ctrl+C (SIGINT) or SIGTERM stops gracefully: the current step finishes, ``last`` is saved with the
metrics up to that step, one line says where, and the exit status is 130 (`EXIT_STOPPED`); a second
signal aborts at once (exit 1, work since the last periodic checkpoint lost). Running the same
command again resumes from ``last``.
"""

from __future__ import annotations

import argparse
import sys
import time

from policy.config import DEFAULT_DEVICE, DEFAULT_PRESET

NAME = "train"
HELP = "train a diffusion policy on a recorded dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="dataset folder (holds episodes/)")
    p.add_argument("--out", required=True, metavar="RUN", help="run directory (resumed if it holds a last checkpoint)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="cpu, gpu, or auto (gpu on a CUDA machine, else cpu)")
    p.add_argument("--config", metavar="FILE", help='JSON overrides: {"policy": {...}, "train": {...}}')
    p.add_argument("--head", choices=("unet", "transformer"))
    p.add_argument("--objective", choices=("ddpm", "flow"))
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", default=DEFAULT_DEVICE, help="auto, cpu, cuda or cuda:N")
    p.add_argument("--cameras", help="comma-separated cameras the policy sees (default: scene,wrist)")
    p.add_argument("--time-limit", type=float, metavar="MINUTES", help="stop after this many minutes")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    aug = p.add_argument_group("augmentation (training only; stored in the checkpoint's configuration)")
    aug.add_argument("--color-jitter", metavar="S|CAM=S,...",
                     help="brightness/contrast/saturation strength in [0, 1]: one for every camera (0.2), "
                          "per camera (scene=0.4,wrist=0), or both (0.1,scene=0.4); 0 turns it off")
    aug.add_argument("--hue-jitter", type=float, metavar="TURNS",
                     help="rotate hues by up to ± this fraction of a turn, in [0, 0.5] (0 = off, the default)")
    aug.add_argument("--crop", type=int, metavar="PX", help="crop size in pixels (at most the image size)")
    aug.add_argument("--no-random-crop", action="store_true",
                     help="train on the centre crop (default: a random crop per frame)")
    aug.add_argument("--random-conv", type=float, metavar="P",
                     help="probability per frame of a random 3x3 convolution (colour/texture "
                          "randomisation, Lee et al. 2020), in [0, 1] (0 = off, the default)")
    p.add_argument("--seed", type=int, help="training seed (initial weights, batches, noise, augmentations)")
    p.add_argument("--tag", action="append", default=[], help="only episodes with this tag (repeatable: any of)")
    p.add_argument("--exclude-tag", action="append", default=[], help="skip episodes with this tag (repeatable)")
    p.add_argument("--outcome", action="append", default=[], choices=("success", "failure", "unknown"),
                   help="only episodes with this outcome (repeatable)")
    p.add_argument("--where", action="append", default=[], metavar="COND",
                   help="only episodes whose recorded scene satisfies COND, e.g. object_color>=0.25 "
                        "(repeatable, all must hold; a perturbation an episode lacks reads as 0)")
    p.add_argument("--no-resume", action="store_true", help="start over even if RUN holds a checkpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_config(args: argparse.Namespace):
    """Preset ← --config file ← individual flags (later wins)."""
    from policy.config import load_config_file, preset, resolve_preset

    def cuda_available() -> bool:
        import torch

        return torch.cuda.is_available()

    cfg = preset(resolve_preset(args.preset, args.device, cuda_available))
    if args.config:
        cfg = cfg.with_overrides(load_config_file(args.config))
    flags = {"policy": {}, "train": {"device": args.device}}
    for key, section, value in (("head", "policy", args.head), ("objective", "policy", args.objective),
                                ("steps", "train", args.steps), ("batch_size", "train", args.batch_size),
                                ("lr", "train", args.lr), ("threads", "train", args.threads),
                                ("seed", "train", args.seed), ("hue_jitter", "policy", args.hue_jitter),
                                ("crop_size", "policy", args.crop), ("random_conv", "policy", args.random_conv)):
        if value is not None:
            flags[section][key] = value
    if args.cameras is not None:
        flags["policy"]["cameras"] = [c for c in args.cameras.split(",") if c]
    if args.time_limit is not None:
        flags["train"]["time_limit_s"] = args.time_limit * 60.0
    if args.no_random_crop:
        flags["policy"]["random_crop"] = False
    if args.color_jitter is not None:
        from policy.augment import parse_camera_jitter

        default, per_camera = parse_camera_jitter(args.color_jitter)
        if default is not None:
            flags["policy"]["color_jitter"] = default
        flags["policy"]["camera_jitter"] = per_camera
    return cfg.with_overrides(flags)


class StderrProgress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, every 10 % otherwise)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self._last_decile = -1

    def __call__(self, done: int, total: int, message: str = "") -> None:
        frac = done / total if total else 0.0
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / frac * (1 - frac) if frac > 0 else float("nan")
        bar = "#" * int(frac * 30)
        line = f"[{bar:<30}] {done}/{total} {message} {elapsed:.0f}s" + (f" eta {eta:.0f}s" if eta == eta else "")
        if self.tty:
            sys.stderr.write("\r" + line[:150].ljust(150) + ("\n" if done >= total else ""))
        elif int(frac * 10) != self._last_decile:
            self._last_decile = int(frac * 10)
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict
    from functools import partial
    from pathlib import Path

    from app.cli import print_json
    from app.stop_signals import EXIT_STOPPED, GracefulStop
    from policy.curation_seam import curation_for
    from policy.distributed import dist_info
    from policy.selection import EpisodeFilter
    from policy.trainer import TrainingStopped, train
    from recorder.dataset import Dataset, require_dataset
    from recorder.jobs import Cancelled, no_progress

    root = require_dataset(args.dataset)
    cfg = build_config(args)
    # Under torchrun / accelerate every rank runs this command; rank 0 alone reports, so the
    # launch prints one progress bar and one JSON object, as a single process does.
    main_rank = dist_info().is_main
    episode_filter = EpisodeFilter(include_tags=tuple(args.tag), exclude_tags=tuple(args.exclude_tag),
                                   outcomes=tuple(args.outcome), where=tuple(args.where))
    try:
        with GracefulStop() as stop:
            result = train(partial(Dataset, root), args.out, cfg, curation=curation_for(root),
                           episode_filter=episode_filter, progress=StderrProgress() if main_rank else no_progress,
                           should_stop=stop, resume=not args.no_resume,
                           notice=(lambda line: print(line, file=sys.stderr, flush=True)) if main_rank
                           else (lambda line: None))
    except TrainingStopped as stopped:
        if not main_rank:
            return EXIT_STOPPED
        line = f"stopped at step {stopped.step}; checkpoint saved to {stopped.checkpoint}"
        if args.json:
            print_json({"stopped": True, "step": stopped.step, "checkpoint": str(stopped.checkpoint),
                        "run_dir": str(Path(args.out))})
        print(line, file=sys.stdout if not args.json else sys.stderr)
        return EXIT_STOPPED
    except OSError as exc:
        from recorder.errors import NoSpaceError
        from recorder.journal import is_disk_full

        if not is_disk_full(exc):
            raise

        raise NoSpaceError(f"disk full while writing the run {args.out}; every checkpoint saved before is intact: "
                           "free space and run the same command again to resume") from None
    except Cancelled:  # stopped while the episodes were being loaded: no step was taken
        if not main_rank:
            return EXIT_STOPPED
        print("stopped before the first step; nothing was saved", file=sys.stderr)
        return EXIT_STOPPED
    if not main_rank:
        return 0
    if args.json:
        print_json({**asdict(result), "augmentation": cfg.policy.augmentation()})
    else:
        best = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "n/a"
        print(f"trained {result.steps} steps on {result.episodes} episodes ({result.samples} windows) in "
              f"{result.seconds:.0f} s on {result.device}: loss {result.train_loss:.4f}, best val {best}; "
              f"checkpoints in {Path(result.run_dir) / 'checkpoints'}")
        print(f"augmentation: {augmentation_line(cfg.policy.augmentation())}")
    return 0


def augmentation_line(aug: dict) -> str:
    """One line for a run's training augmentations (train, info and eval print it)."""
    jitter = ", ".join(f"{cam} {s:g}" for cam, s in aug["color_jitter"].items()) or "no cameras"
    crop = f"random {aug['crop_size']} of {aug['image_size']} px" if aug["random_crop"] else \
        f"centre {aug['crop_size']} of {aug['image_size']} px"
    return (f"colour jitter {jitter}; hue ±{aug['hue_jitter']:g} turn; crop {crop}; "
            f"random convolution p={aug['random_conv']:g}")
