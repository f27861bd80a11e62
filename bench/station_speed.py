"""Station speed: simulated seconds per wall second, without rendering and with two cameras.

    python bench/station_speed.py [--task pick_place] [--seconds 60] [--image-size 96]

Drives the station with the scripted expert (so contacts and grasps are part of the cost), one
10 Hz control tick at a time, over several seeded episodes. With cameras, both station cameras are
rendered at every tick (10 Hz), as the recorder does. Prints one JSON object.
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


def measure(task: str, sim_seconds: float, cameras: tuple[str, ...], image_size: int) -> dict:
    station = make_station(task, image_size=image_size, cameras=cameras)
    station.connect()
    simulated = 0.0
    wall = 0.0
    render_wall = 0.0
    seed = 0
    while simulated < sim_seconds:
        station.reset(seed)
        expert = station.task.make_expert(station, ExpertKnobs(), np.random.default_rng(seed))
        t0 = time.perf_counter()
        while True:
            for cam in cameras:
                r0 = time.perf_counter()
                station.render(cam)
                render_wall += time.perf_counter() - r0
            station.send_action(expert.act())
            station.step(0.1)
            simulated += 0.1
            if station.status().done or simulated >= sim_seconds:
                break
        wall += time.perf_counter() - t0
        seed += 1
    station.disconnect()
    return {"realtime_factor": simulated / wall, "sim_seconds": simulated, "wall_seconds": wall,
            "render_ms_per_frame": (1000 * render_wall / max(1, round(simulated * 10) * len(cameras))) if cameras else None,
            "episodes": seed}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="pick_place")
    p.add_argument("--seconds", type=float, default=60.0, help="simulated seconds per measurement")
    p.add_argument("--image-size", type=int, default=96)
    args = p.parse_args()
    no_render = measure(args.task, args.seconds, (), args.image_size)
    with_cams = measure(args.task, args.seconds, ("scene", "wrist"), args.image_size)
    print(json.dumps({
        "task": args.task,
        "physics_hz": 500, "control_tick_hz": 10,
        "no_rendering": no_render,
        "two_cameras": {**with_cams, "image_size": args.image_size, "camera_hz": 10},
        "targets": {"no_rendering": 10.0, "two_cameras": 2.0},
        "meets_targets": no_render["realtime_factor"] >= 10.0 and with_cams["realtime_factor"] >= 2.0,
        "mujoco_gl": os.environ.get("MUJOCO_GL"),
    }, indent=None))


if __name__ == "__main__":
    main()
