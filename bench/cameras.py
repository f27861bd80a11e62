"""Capture-to-record staleness and drops with three cameras read at 10 Hz, as the recorder reads them.

Three video-file cameras (the UVC code path: OpenCV decode of MJPG, BGR→RGB, centre-crop + resize,
clock mapping) play pattern videos at 30, 30 and 15 fps; a loop on absolute deadlines (start +
k / 10 Hz, like the recorder's tick clock) takes `read_latest()` from each at every tick. Reported
per camera: staleness = tick time − capture time (p50/p99, ms), frames dropped by the capture
thread, ticks without a new frame, and whether each image still shows the index its frame claims;
overall: tick lateness and process CPU use.

    python bench/cameras.py [--seconds 10] [--capture 640x480] [--size 96]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.cameras.opencv_camera import OpenCVCamera  # noqa: E402
from devices.cameras.test_pattern import read_pattern_index, write_pattern_video  # noqa: E402
from devices.cameras.threaded import CaptureSettings  # noqa: E402

RATE_HZ = 10.0


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.partition("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--capture", type=_size, default=(640, 480), help="source video size WxH")
    p.add_argument("--size", type=int, default=96, help="output image side (square)")
    p.add_argument("--rates", default="30,30,15", help="camera frame rates")
    p.add_argument("--drift", type=float, default=0.01,
                   help="relative rate error of the cameras (+, -, +, ...): real cameras are not phase-locked to "
                        "the recorder's clock, so their frame phase slides across the ticks during the run")
    args = p.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    cw, ch = args.capture

    with tempfile.TemporaryDirectory() as tmp:
        cams = []
        for i, fps in enumerate(rates):
            path = write_pattern_video(Path(tmp) / f"cam{i}.avi", frames=int(fps * 3), fps=fps, width=cw, height=ch)
            actual = fps * (1 + args.drift * (1 if i % 2 == 0 else -1))
            cams.append(OpenCVCamera(f"cam{i}", str(path), CaptureSettings(args.size, args.size, fps=fps),
                                     pace_fps=actual, loop=True))
        for cam in cams:
            cam.connect()
        try:
            result = _run(cams, rates, args.seconds, (cw, ch))
        finally:
            for cam in cams:
                cam.disconnect()
    result.update(seconds=args.seconds, rate_hz=RATE_HZ, drift=args.drift, capture_size=[cw, ch], output_size=[args.size, args.size],
                  cpu_count=os.cpu_count())
    print(json.dumps(result))
    return 0


def _run(cams: list[OpenCVCamera], rates: list[float], seconds: float, capture: tuple[int, int]) -> dict:
    clock = time.monotonic
    # wait for every camera's first frame, as the recorder does before its first tick
    deadline = clock() + 5.0
    while any(c.read_latest() is None for c in cams) and clock() < deadline:
        time.sleep(0.005)
    stale: list[list[float]] = [[] for _ in cams]
    repeats = [0] * len(cams)
    missing = [0] * len(cams)
    wrong = [0] * len(cams)
    last_index = [None] * len(cams)
    lateness = []
    n_ticks = int(seconds * RATE_HZ)
    start = clock() + 0.05
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for k in range(n_ticks):
        due = start + k / RATE_HZ
        remaining = due - clock()
        if remaining > 0:
            time.sleep(remaining)
        tick = clock()
        lateness.append(tick - due)
        for i, cam in enumerate(cams):
            frame = cam.read_latest()
            if frame is None:
                missing[i] += 1
                continue
            stale[i].append(tick - frame.timestamp)
            if frame.index == last_index[i]:
                repeats[i] += 1
            last_index[i] = frame.index
            n_file = int(rates[i] * 3)
            if read_pattern_index(frame.image, source_size=capture) != frame.index % n_file:
                wrong[i] += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    cameras = {}
    for i, cam in enumerate(cams):
        st = cam.status()
        s = np.array(stale[i]) * 1000
        cameras[cam.name] = {
            "fps_nominal": rates[i], "fps_measured": round(st.fps, 2),
            "staleness_ms_p50": round(float(np.percentile(s, 50)), 2),
            "staleness_ms_p99": round(float(np.percentile(s, 99)), 2),
            "staleness_ms_max": round(float(s.max()), 2),
            "frames_captured": st.frames_captured, "frames_dropped": st.frames_dropped,
            "ticks_without_frame": missing[i], "ticks_with_repeated_frame": repeats[i],
            "images_not_matching_index": wrong[i], "state": st.state,
        }
    late = np.array(lateness) * 1000
    return {"ticks": n_ticks, "cameras": cameras,
            "tick_lateness_ms_p50": round(float(np.percentile(late, 50)), 3),
            "tick_lateness_ms_p99": round(float(np.percentile(late, 99)), 3),
            "process_cpu_percent": round(100 * cpu / wall, 1)}


if __name__ == "__main__":
    sys.exit(main())
