"""Scripted experts recorded through the safety controller: success rate and interventions per task.

    python bench/recorded_experts.py [--episodes 20] [--task push_t] [--seed 0] [--cameras '']

Records each task's expert with `recorder.record.record_station` — the path `demostation record`
takes: 10 Hz decisions, interpolated by the 100 Hz safety controller with the station's limits,
simulated time — into a temporary dataset (no cameras by default: they do not change the motion),
and reports the stored success and the safety filter's interventions. Prints one JSON object.
Compare with `bench/experts.py`, which commands the station directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")

from devices.sim.tasks import task_names  # noqa: E402
from recorder.record import StationRecordingSettings, record_station  # noqa: E402

TASKS = ("pick_place", "push_t")


def measure(task: str, episodes: int, seed: int, cameras: tuple[str, ...]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = record_station(StationRecordingSettings(out=str(Path(tmp) / "ds"), task=task, episodes=episodes,
                                                         seed=seed, cameras=cameras, image_size=32, fsync=False))
        seconds = time.perf_counter() - t0
    eps = report.episodes
    interventions: Counter = Counter()
    for e in eps:
        interventions.update(e.timing.get("safety_interventions", {}))
    return {"episodes": len(eps), "success_rate": sum(bool(e.success) for e in eps) / len(eps),
            "mean_score": sum(float(e.score or 0.0) for e in eps) / len(eps),
            "failed_seeds": [e.seed for e in eps if not e.success],
            "mean_episode_s": sum(e.duration_s for e in eps) / len(eps),
            "safety_interventions": dict(sorted(interventions.items())),
            "episodes_with_interventions": sum(bool(e.timing.get("safety_interventions")) for e in eps),
            "seconds": round(seconds, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=20, help="episodes per task (default 20)")
    p.add_argument("--task", choices=[t for t in TASKS if t in task_names()], help="only this task")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--cameras", default="", help="comma-separated cameras to render (default none)")
    args = p.parse_args()
    if args.episodes < 1:
        p.error("--episodes must be at least 1")
    cameras = tuple(c for c in args.cameras.split(",") if c)
    tasks = [args.task] if args.task else [t for t in TASKS if t in task_names()]
    t0 = time.perf_counter()
    results = {t: measure(t, args.episodes, args.seed, cameras) for t in tasks}
    print(json.dumps({"tasks": results, "control_hz": 100.0, "seconds": round(time.perf_counter() - t0, 2)}))


if __name__ == "__main__":
    main()
