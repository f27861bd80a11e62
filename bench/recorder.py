"""Recorder benchmark on the REAL clock: tick error, missed ticks, recorder CPU and MB per minute.

Records the embedded station (scripted expert, two cameras) in real time through the same
`RecordingSession` the GUI uses, episode after episode (each ends 1 s after success or at the task
limit, the next starts at once), for ``--seconds`` per image size. The station's physics follows
the real clock (`RealTimeStation`) and its CPU time (physics, rendering, resets) is measured on
its own and subtracted, so ``recorder_cpu_pct_of_core`` is what recording costs: the tick loop,
synchronisation, the writer thread (compression, journal, fsync) and finalisation. Tick errors are
read back from the episodes' ``timing/tick_error``, i.e. what the files themselves say.

    python bench/recorder.py [--seconds 300] [--sizes 96x96,320x240] [--rate 10] [--out DIR] [--normal-priority]

Targets: p99 |tick error| <= 2 ms, 0 missed ticks, <= 30 % of one core at 96x96. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench_size(out: Path, height: int, width: int, seconds: float, rate_hz: float, seed: int,
               realtime_priority: bool) -> dict:
    from devices.sim.station import SimStation, StationConfig
    from recorder.clock import MonotonicClock
    from recorder.command_path import UnfilteredPath
    from recorder.dataset import Dataset
    from recorder.session import RecordingSession, SessionSettings
    from recorder.sources import ExpertSource
    from recorder.station import RealTimeStation, StationEnd, station_description

    clock = MonotonicClock()
    sim = SimStation("pick_place", replace(StationConfig(), image_size=(height, width)))
    sim.connect()
    robot = RealTimeStation(sim, clock)
    session = RecordingSession(out, robot, robot.cameras, ExpertSource(noise=0.002, pause_prob=0.2, rate_hz=rate_hz),
                               clock=clock, settings=SessionSettings(rate_hz=rate_hz, task="pick_place",
                                                                     operator="bench",
                                                                     station=station_description(sim),
                                                                     realtime_priority=realtime_priority),
                               control=UnfilteredPath(robot))  # the recorder's own tick timing, no controller
    wall0, cpu0 = time.monotonic(), time.process_time()
    t_end = wall0 + seconds
    summaries = []
    episode = 0
    while time.monotonic() < t_end:
        summaries.append(session.record_episode(seed=seed + episode, end=StationEnd(robot, tail_s=1.0),
                                                reset=True, should_stop=lambda: clock.now() >= t_end))
        episode += 1
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    sim.disconnect()

    errors, missed, frames, size = [], 0, 0, 0
    priority = set()
    ds = Dataset(out)
    for eid in ds.episode_ids():
        with ds.open(eid) as ep:
            errors.append(ep.tick_error)
            priority.add(ep.timing.get("priority", ""))
            missed += int(ep.timing.get("missed_ticks", 0))
            frames += len(ep)
        size += ep.path.stat().st_size
    err_ms = np.abs(np.concatenate(errors)) * 1e3
    recorded_min = frames / rate_hz / 60.0
    recorder_cpu = cpu - robot.physics_cpu_s
    return {
        "image_size": f"{width}x{height}",
        "tick_priority": sorted(priority),
        "wall_s": round(wall, 2),
        "episodes": len(summaries),
        "ticks": int(err_ms.size),
        "recorded_s": round(frames / rate_hz, 1),
        "tick_abs_error_ms_p50": round(float(np.percentile(err_ms, 50)), 4),
        "tick_abs_error_ms_p99": round(float(np.percentile(err_ms, 99)), 4),
        "tick_abs_error_ms_max": round(float(err_ms.max()), 3),
        "missed_ticks": missed,
        "recorder_cpu_pct_of_core": round(100 * recorder_cpu / wall, 2),
        "station_cpu_pct_of_core": round(100 * robot.physics_cpu_s / wall, 2),
        "process_cpu_pct_of_core": round(100 * cpu / wall, 2),
        "mb_per_min": round(size / 1e6 / recorded_min, 3),
        "dataset_mb": round(size / 1e6, 3),
        "problems": ds.problems(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="real seconds recorded per image size")
    ap.add_argument("--sizes", default="96x96,320x240", help="comma-separated WIDTHxHEIGHT")
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="keep the datasets in this folder (default: a temporary one)")
    ap.add_argument("--normal-priority", action="store_true",
                    help="do not ask for SCHED_FIFO for the tick loop (the session's default asks, best effort)")
    args = ap.parse_args()
    load0 = os.getloadavg()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.out) if args.out else Path(tmp)
        for size in args.sizes.split(","):
            w, h = (int(x) for x in size.lower().split("x"))
            runs[size] = bench_size(base / f"bench_{size}", h, w, args.seconds, args.rate, args.seed,
                                    realtime_priority=not args.normal_priority)
    small = runs.get("96x96")
    print(json.dumps({
        "command": "python bench/recorder.py " + " ".join(sys.argv[1:]),
        "clock": "real (time.monotonic)",
        "rate_hz": args.rate,
        "seconds_per_size": args.seconds,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load0],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "runs": runs,
        "targets_met_96x96": None if small is None else {
            "p99_abs_error_le_2ms": small["tick_abs_error_ms_p99"] <= 2.0,
            "zero_missed_ticks": small["missed_ticks"] == 0,
            "recorder_cpu_le_30pct": small["recorder_cpu_pct_of_core"] <= 30.0,
        },
    }))


if __name__ == "__main__":
    main()
