"""Learning benchmark: record expert demos in the station, train the default policy, evaluate it.

    python bench/learning.py [--task pick_place] [--demos 100] [--minutes 60] [--eval-episodes 50]
                             [--noise 0.004] [--mistake-prob 0.3] [--pause-prob 0] [--threads 0]
                             [--preset cpu] [--config FILE] [--out DIR] [--data DIR] [--trim-mistakes]

1. Records ``--demos`` episodes with the task's scripted expert (action noise, missed grasps
   followed by recoveries) through the recorder (`record_station`), on seeds 10000+ — never the
   evaluation seeds.
2. Trains the preset policy for ``--minutes`` of wall time (the LR schedule follows the time
   budget) on them, exactly as `demostation train` does (honouring the dataset's curation, if
   any). ``--trim-mistakes`` first curates as `demostation curate DATA --trim-events --apply`
   does: the expert's logged mistakes are trimmed, the recoveries after them kept.
3. Rolls the best checkpoint out on seeds 0 … N−1 exactly as `demostation eval RUN` does (the
   receding-horizon runtime, waypoint j of a chunk due j periods after the observation, inference
   taking no simulated time), and the same seeds with a "hold still" agent as a floor: a policy
   that learned nothing scores like it. ``--evaluate RUN`` only does this step, for a run that
   exists.

Prints one JSON object (demos, training, evaluation, baseline, chunk latency, machine load).
Target (pick_place, 100 demos, default CPU preset, 60 minutes, this 2-core machine): ≥ 90 % success.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@dataclass
class HoldStill:
    """The floor: never moves (what an untrained policy that outputs the current pose would do)."""

    name: str = "hold-still"
    uses_cameras: bool = False

    def reset(self, station, seed: int) -> None:
        pass

    def act(self, station):
        return station.hold()


def record(out: Path, task: str, demos: int, noise: float, mistake: float, pause: float) -> dict:
    from bench.common import record_expert_demos

    s = record_expert_demos(out, demos, seed=10_000, task=task, noise=noise, mistake_prob=mistake, pause_prob=pause)
    return {"episodes": s["episodes"], "frames": s["frames"], "expert_success_rate": s["success_rate"],
            "seconds": s["seconds"], "noise": noise, "mistake_prob": mistake, "pause_prob": pause}


def trim_mistakes(data: Path) -> dict:
    from curation.events import trim_logged_events
    from curation.workspace import open_workspace

    with open_workspace(data) as ws:
        r = trim_logged_events(ws, ("mistake",), apply=True)
    return {"trimmed_mistakes": len(r["trim_ids"]), "episodes_with_mistakes": r["episodes"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="pick_place")
    ap.add_argument("--demos", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--eval-episodes", type=int, default=50)
    ap.add_argument("--noise", type=float, default=0.004)
    ap.add_argument("--mistake-prob", type=float, default=0.3)
    ap.add_argument("--pause-prob", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--config", help="JSON overrides, as for `demostation train --config`")
    ap.add_argument("--out", help="keep the dataset and run here (default: a temporary folder)")
    ap.add_argument("--data", help="train on this dataset instead of recording one")
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--trim-mistakes", action="store_true",
                    help="trim the logged mistake spans before training (curate --trim-events --apply)")
    ap.add_argument("--evaluate", metavar="RUN", help="only evaluate this training run (no recording, no training)")
    args = ap.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    import torch

    from bench.common import policy_config
    from policy.agent import latency_summary
    from policy.curation_seam import curation_for
    from policy.evaluation import EvalSettings, evaluate, policy_chunk_agent
    from policy.trainer import train
    from recorder.dataset import Dataset

    cfg = policy_config(args.preset, args.config, args.threads)
    cfg.train.time_limit_s = args.minutes * 60.0
    cfg.train.steps = 10_000_000  # the time budget ends the run; the schedule follows it
    cfg.train.seed = args.seed
    cfg.train.threads = args.threads
    result: dict = {"task": args.task, "preset": args.preset, "minutes": args.minutes,
                    "threads": torch.get_num_threads(), "cores": os.cpu_count(),
                    "load_avg_1min_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out) if args.out else Path(tmp)
        run = Path(args.evaluate) if args.evaluate else root / "run"
        if not args.evaluate:
            data = Path(args.data) if args.data else root / "data"
            if not args.data:
                result["demos"] = record(data, args.task, args.demos, args.noise, args.mistake_prob, args.pause_prob)
            if args.trim_mistakes:
                result["curation"] = trim_mistakes(data)
            trained = train(partial(Dataset, data), run, cfg, resume=False, curation=curation_for(data))
            result["train"] = {"steps": trained.steps, "seconds": round(trained.seconds, 1),
                               "samples_per_s": round(trained.samples_per_s, 1),
                               "final_loss": round(trained.train_loss, 5), "best_val_loss": trained.best_val_loss,
                               "episodes": trained.episodes, "val_episodes": trained.val_episodes,
                               "windows": trained.samples,
                               "action_label": trained.action_label}
            result["load_avg_1min_after_training"] = round(os.getloadavg()[0], 2)
        agent, needs = policy_chunk_agent(run)
        settings = EvalSettings(task=args.task, episodes=args.eval_episodes, seed=0,
                                cameras=needs["cameras"] or EvalSettings.cameras, rate_hz=needs["rate_hz"])
        t0 = time.perf_counter()
        report = evaluate(agent, settings)
        latencies = [ms for r in report.results for ms in r.predict_ms]
        result["eval"] = {"episodes": report.episodes, "success_rate": report.success_rate,
                          "mean_score": round(report.mean_score, 4), "seconds": round(time.perf_counter() - t0, 1),
                          "chunk_latency_ms": latency_summary(latencies)}
        floor = evaluate(HoldStill(), EvalSettings(task=args.task, episodes=args.eval_episodes, seed=0))
        result["baseline_hold_still"] = {"success_rate": floor.success_rate, "mean_score": round(floor.mean_score, 4)}
    result["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
