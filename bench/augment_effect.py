"""Augmentation benchmark: the same demos, the same budget, trained with and without the
appearance augmentations, each evaluated under the ``object_color`` sweep on the same seeds.

    python bench/augment_effect.py [--demos 100] [--steps 3000 | --minutes M] [--eval-episodes 20]
                                   [--severities 0.25,0.5,1] [--perturbation object_color]
                                   [--arms plain,augmented] [--augmented JSON] [--randomize RANGES]
                                   [--threads 0] [--preset cpu] [--seed 0] [--out DIR] [--data DIR]

1. Records ``--demos`` expert episodes on seeds 10000+ (as `bench/learning.py` does; never the
   evaluation seeds), or uses ``--data``.
2. Trains one run per arm with the same preset, seed and budget (``--steps`` gives every arm the
   same number of updates; ``--minutes`` the same wall time, which a busy machine makes unequal):

   * ``plain``: the preset's own augmentation (colour jitter 0.15 on every camera, random crop);
   * ``augmented``: plus ``--augmented`` (default: scene-camera jitter 0.3, hue rotation up to
     ±0.5 turn, random convolution with p = 0.25) — `policy.augment`;
   * ``randomized`` (only with ``--randomize RANGES``): the plain recipe on a second dataset
     recorded with ``record --randomize RANGES`` (randomised collection), same seeds and size.

3. Evaluates each arm's best checkpoint (``--evaluate-only``: only this, for runs already in ``--out``) unperturbed and at each severity of ``--perturbation``
   on seeds 0 … N−1 (`policy.sweep.run_sweep`), with Wilson 95 % intervals.

Prints one JSON object: per arm its augmentation, training summary and success per severity.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_AUGMENTED = {"camera_jitter": {"scene": 0.3}, "hue_jitter": 0.5, "random_conv": 0.25}
ARMS = ("plain", "augmented", "randomized")


def record(out: Path, demos: int, randomize: str = "") -> dict:
    from devices.sim.randomization import parse_ranges
    from recorder.record import StationRecordingSettings, record_station
    from recorder.sources import SourceOptions

    report = record_station(StationRecordingSettings(
        out=str(out), episodes=demos, seed=10_000, fsync=False, randomize=parse_ranges(randomize),
        source=SourceOptions(expert_noise=0.004, expert_mistake_prob=0.3)))
    s = report.summary()
    return {"episodes": s["episodes"], "frames": s["frames"], "expert_success_rate": s["success_rate"],
            "seconds": s["seconds"], "randomize": randomize}


def train_arm(data: Path, run: Path, cfg, overrides: dict) -> dict:
    from policy.curation_seam import curation_for
    from policy.trainer import train
    from recorder.dataset import Dataset

    cfg = cfg.with_overrides({"policy": overrides}) if overrides else cfg
    t = train(partial(Dataset, data), run, cfg, resume=False, curation=curation_for(data))
    return {"steps": t.steps, "seconds": round(t.seconds, 1), "samples_per_s": round(t.samples_per_s, 1),
            "final_loss": round(t.train_loss, 5), "best_val_loss": t.best_val_loss, "episodes": t.episodes,
            "augmentation": cfg.policy.augmentation()}


def sweep_arm(run: Path, perturbation: str, severities: tuple[float, ...], episodes: int) -> dict:
    from policy.evaluation import EvalSettings, policy_chunk_agent
    from policy.sweep import run_sweep

    agent, needs = policy_chunk_agent(run)
    settings = EvalSettings(task="pick_place", episodes=episodes, seed=0,
                            cameras=needs["cameras"] or EvalSettings.cameras, rate_hz=needs["rate_hz"])
    t0 = time.perf_counter()
    report = run_sweep(agent, settings, severities, perturbations=[perturbation])
    cells = [report.baseline] + sorted(report.cells, key=lambda c: c.severity)
    return {"seconds": round(time.perf_counter() - t0, 1),
            "success": {f"{c.severity:g}": {"rate": c.success_rate, "ci95": [round(x, 3) for x in c.success_ci],
                                            "episodes": c.episodes} for c in cells}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demos", type=int, default=100)
    ap.add_argument("--steps", type=int, default=3000, help="training steps per arm (the same for every arm)")
    ap.add_argument("--minutes", type=float, default=0.0, help="instead of --steps: wall-time budget per arm")
    ap.add_argument("--eval-episodes", type=int, default=20)
    ap.add_argument("--severities", default="0.25,0.5,1")
    ap.add_argument("--perturbation", default="object_color")
    ap.add_argument("--arms", default="plain,augmented")
    ap.add_argument("--augmented", default=json.dumps(DEFAULT_AUGMENTED),
                    help="policy config keys of the augmented arm, as JSON")
    ap.add_argument("--randomize", default="", help="ranges for the randomized arm's dataset, e.g. object_color:0-0.5")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--seed", type=int, default=0, help="training seed (the same for every arm)")
    ap.add_argument("--out", help="keep datasets and runs here (default: a temporary folder)")
    ap.add_argument("--data", help="train on this dataset instead of recording one")
    ap.add_argument("--evaluate-only", action="store_true",
                    help="evaluate the arms' runs already in --out (OUT/run_ARM) again, without training")
    args = ap.parse_args()
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    bad = [a for a in arms if a not in ARMS]
    if bad or ("randomized" in arms and not args.randomize):
        print(f"augment_effect: arms are {', '.join(ARMS)} (randomized needs --randomize); got {args.arms}",
              file=sys.stderr)
        raise SystemExit(2)
    try:
        severities = tuple(float(s) for s in args.severities.split(","))
        augmented = json.loads(args.augmented)
    except ValueError as exc:
        print(f"augment_effect: bad --severities or --augmented ({exc})", file=sys.stderr)
        raise SystemExit(2) from None
    os.environ.setdefault("MUJOCO_GL", "egl")
    import torch

    from bench.common import policy_config

    cfg = policy_config(args.preset, None, args.threads)
    cfg.train.seed, cfg.train.threads = args.seed, args.threads
    if args.minutes > 0:
        cfg.train.time_limit_s, cfg.train.steps = args.minutes * 60.0, 10_000_000
    else:
        cfg.train.steps = args.steps
    result: dict = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "task": "pick_place", "preset": args.preset,
                    "budget": None if args.evaluate_only else
                    {"steps": args.steps} if args.minutes <= 0 else {"minutes": args.minutes},
                    "train_seed": args.seed, "perturbation": args.perturbation, "eval_seeds": [0, args.eval_episodes - 1],
                    "threads": torch.get_num_threads(), "cores": os.cpu_count(),
                    "load_avg_1min_start": round(os.getloadavg()[0], 2), "arms": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out) if args.out else Path(tmp)
        data = Path(args.data) if args.data else root / "data"
        if not args.data and not args.evaluate_only and not (data / "episodes").is_dir():
            result["demos"] = record(data, args.demos)
        for arm in arms:
            run = root / f"run_{arm}"
            if args.evaluate_only:
                result["arms"][arm] = {"run": str(run), "sweep": sweep_arm(run, args.perturbation, severities,
                                                                            args.eval_episodes)}
                continue
            arm_data = data
            if arm == "randomized":
                arm_data = root / "data_randomized"
                if not (arm_data / "episodes").is_dir():
                    result["demos_randomized"] = record(arm_data, args.demos, args.randomize)
            trained = train_arm(arm_data, run, cfg, augmented if arm == "augmented" else {})
            result["arms"][arm] = {"train": trained, "sweep": sweep_arm(run, args.perturbation, severities,
                                                                         args.eval_episodes)}
            print(f"augment_effect: {arm}: {json.dumps(result['arms'][arm])}", file=sys.stderr, flush=True)
    result["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
