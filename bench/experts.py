"""Scripted-expert quality: success rate and mean score per task, without noise, over seeded episodes.

    python bench/experts.py [--episodes 100] [--task push_t] [--seed 0]

Each episode resets the station with its seed, runs the task's expert at 10 Hz without cameras
and stops when the task reports done (success or time limit). Prints one JSON object. The expert
is the data source for demonstrations, so its success rate bounds what a policy can learn.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

from devices.sim.experts import ExpertKnobs  # noqa: E402
from devices.sim.station import make_station  # noqa: E402
from devices.sim.tasks import task_names  # noqa: E402

TASKS = ("pick_place", "push_t")


def measure(task: str, episodes: int, first_seed: int = 0) -> dict:
    """Roll the expert out on seeds first_seed .. first_seed + episodes - 1."""
    station = make_station(task, cameras=())
    station.connect()
    wins, scores, lengths, failed = 0, [], [], []
    t0 = time.perf_counter()
    for seed in range(first_seed, first_seed + episodes):
        station.reset(seed)
        expert = station.task.make_expert(station, ExpertKnobs(), np.random.default_rng(seed))
        while True:
            station.send_action(expert.act())
            station.step(0.1)
            status = station.status()
            if status.done:
                break
        wins += status.success
        scores.append(status.score)
        lengths.append(station.time)
        if not status.success:
            failed.append(seed)
    station.disconnect()
    return {"episodes": episodes, "success_rate": wins / episodes, "mean_score": float(np.mean(scores)),
            "min_score": float(np.min(scores)), "mean_episode_s": float(np.mean(lengths)),
            "max_episode_s": float(np.max(lengths)), "time_limit_s": station.task.time_limit_s,
            "failed_seeds": failed, "seconds": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=100, help="episodes per task (default 100)")
    p.add_argument("--task", choices=[t for t in TASKS if t in task_names()], help="only this task")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    args = p.parse_args()
    if args.episodes < 1:
        p.error("--episodes must be at least 1")
    t0 = time.perf_counter()
    tasks = [args.task] if args.task else [t for t in TASKS if t in task_names()]
    results = {t: measure(t, args.episodes, args.seed) for t in tasks}
    print(json.dumps({"tasks": results, "noise": 0.0, "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
