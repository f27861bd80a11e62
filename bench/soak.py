"""Soak: record for a long time on the real clock while curating and training, then kill and recover.

What a lab does in an afternoon, compressed into one run. A child process records the embedded
station on the wall clock (the product path: expert → `SafetyPath` → the 100 Hz safety controller
on its own thread; two cameras at 10 Hz), episode after episode. Meanwhile this process curates the
growing dataset (`demostation curate --detect-pauses --apply`, `--stats`) every ``--curate-every``
seconds and, once a few episodes exist, trains on it (`demostation train`, CPU preset, in its own
process, until the soak ends). At the end the recorder is killed with SIGKILL mid-episode and the
dataset is opened again, which recovers the interrupted episode.

Prints one JSON object:

- ``samples_written`` — samples the recorder had handed to its writer when it was killed (counted
  by the child and reported with every sample); ``samples_recovered`` — samples in the dataset after
  recovery; ``samples_lost`` = the difference (the journal is fsynced once a second, so at most
  about ten at 10 Hz);
- ``missed_ticks`` and the tick error p99 over every finished episode;
- ``rss_mb`` of the recorder at the first and last report, and ``rss_growth_mb_per_hour``;
- ``curation_runs`` / ``curation_failures`` and the training's exit status.

    python bench/soak.py --minutes 30            # the issue's soak
    python bench/soak.py --minutes 2 --out /tmp/soak   # a quick look, keeping the dataset
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def record_forever(out: Path, status: Path, image_size: int, seed: int) -> None:
    """The child: record on the wall clock until killed, reporting progress to ``status``."""
    from dataclasses import replace

    from devices.control import ControlLoop, SafetyController
    from devices.sim.station import SimStation, StationConfig
    from recorder.clock import MonotonicClock
    from recorder.command_path import SafetyPath
    from recorder.session import RecordingSession, SessionSettings
    from recorder.sources import ExpertSource
    from recorder.station import RealTimeStation, StationEnd, station_description

    clock = MonotonicClock()
    sim = SimStation("pick_place", replace(StationConfig(), image_size=(image_size, image_size)))
    sim.connect()
    robot = RealTimeStation(sim, clock)
    controller = SafetyController(robot, rate_hz=100.0)
    counted = {"samples": 0}

    def on_sample(sample) -> None:  # every sample handed to the writer, reported at once (10 Hz)
        counted["samples"] += 1
        tmp = status.with_suffix(".tmp")
        tmp.write_text(json.dumps({"samples": counted["samples"], "rss_mb": _rss_mb(), "t": time.monotonic()}))
        os.replace(tmp, status)

    session = RecordingSession(out, robot, robot.cameras, ExpertSource(noise=0.002, pause_prob=0.2, rate_hz=10.0),
                               clock=clock, control=SafetyPath(controller), on_sample=on_sample,
                               settings=SessionSettings(rate_hz=10.0, task="pick_place", operator="soak",
                                                        station=station_description(sim)))
    robot.reset(seed)
    controller.reset()
    loop = ControlLoop(controller, clock.now)
    loop.start()
    episode = 0
    while True:
        session.record_episode(seed=seed + episode, end=StationEnd(robot, tail_s=1.0), reset=True)
        episode += 1


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, **kw)


def soak(out: Path, minutes: float, curate_every: float, image_size: int, seed: int) -> dict:
    from recorder.dataset import Dataset

    status = out.parent / f"{out.name}.status.json"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, __file__, "--child", str(out), "--status", str(status),
                              "--image-size", str(image_size), "--seed", str(seed)], cwd=ROOT, env=env)
    t0 = time.monotonic()
    end = t0 + minutes * 60.0
    reports: list[dict] = []
    curation_runs = curation_failures = 0
    trainer: subprocess.Popen | None = None
    next_curate = t0 + curate_every
    try:
        while time.monotonic() < end:
            time.sleep(1.0)
            if child.poll() is not None:
                raise RuntimeError(f"the recorder exited early with status {child.returncode}")
            if status.exists() and (not reports or time.monotonic() - reports[-1]["seen"] >= 10.0):
                reports.append({**json.loads(status.read_text()), "seen": time.monotonic()})
            done = len(list((out / "episodes").glob("*.h5"))) if (out / "episodes").exists() else 0
            if time.monotonic() >= next_curate and done:
                for args in (("--detect-pauses", "--apply"), ("--stats",)):
                    r = _cli("curate", str(out), *args, "--json", stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
                    r.communicate(timeout=300)
                    curation_runs += 1
                    curation_failures += r.returncode != 0
                next_curate = time.monotonic() + curate_every
            if trainer is None and done >= 3:
                trainer = _cli("train", str(out), "--out", str(out.parent / f"{out.name}-run"), "--json",
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # mid-episode by now: the kill interrupts a journal
        final = json.loads(status.read_text())
        child.send_signal(signal.SIGKILL)
        child.wait()
        written = int(final["samples"])
    finally:
        if child.poll() is None:
            child.kill()
        if trainer is not None and trainer.poll() is None:
            trainer.send_signal(signal.SIGTERM)  # a graceful stop: the run keeps its last checkpoint
            try:
                trainer.wait(timeout=120)
            except subprocess.TimeoutExpired:
                trainer.kill()
    ds = Dataset(out)  # recovers the killed episode
    recovered = missed = 0
    errors = []
    for eid in ds.episode_ids():
        with ds.open(eid) as ep:
            recovered += len(ep)
            if ep.complete:
                missed += int(ep.timing.get("missed_ticks", 0))
                errors.append(np.abs(np.asarray(ep.tick_error)) * 1e3)
    rss = [r["rss_mb"] for r in reports]
    hours = (reports[-1]["t"] - reports[0]["t"]) / 3600.0 if len(reports) > 1 else 0.0
    err = np.concatenate(errors) if errors else np.zeros(1)
    return {
        "minutes": minutes,
        "episodes": len(ds.episode_ids()),
        "samples_written": written,
        "samples_recovered": recovered,
        "samples_lost": written - recovered,
        "missed_ticks": missed,
        "tick_abs_error_ms_p99": round(float(np.percentile(err, 99)), 3),
        "rss_mb_first": round(rss[0], 1) if rss else None,
        "rss_mb_last": round(rss[-1], 1) if rss else None,
        "rss_growth_mb_per_hour": round((rss[-1] - rss[0]) / hours, 1) if hours > 0 else None,
        "curation_runs": curation_runs,
        "curation_failures": curation_failures,
        "training_started": trainer is not None,
        "training_exit": None if trainer is None else trainer.returncode,
        "problems_after_recovery": ds.problems(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--curate-every", type=float, default=60.0, help="seconds between curation passes")
    ap.add_argument("--image-size", type=int, default=96)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="keep the dataset here (default: a temporary folder)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--status", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        record_forever(Path(args.child), Path(args.status), args.image_size, args.seed)
        return 0
    if not args.minutes > 0:
        print("soak: --minutes must be positive", file=sys.stderr)
        return 2
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.out) if args.out else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        result = soak(base / "soak", args.minutes, args.curate_every, args.image_size, args.seed)
    print(json.dumps({
        "command": "python bench/soak.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load0],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        **result,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
