"""How fast and how big are the LeRobot and Zarr exports? Measured on expert episodes recorded on
the spot through the recorder (scene + wrist cameras, 96x96 by default, 10 Hz).

Reports, per format: frames exported per second (wall clock, the whole export: reading the HDF5
episodes, encoding, writing parquet/zarr), the output size, and MB per minute of episode (output
size / exported episode minutes); beside them the source HDF5 dataset's own MB per minute.
Prints one JSON object.

    python bench/export_speed.py [--episodes 10] [--crf 23] [--gop 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=10000)
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--gop", type=int, default=2)
    args = ap.parse_args()

    from bench.common import record_expert_demos
    from curation.export_lerobot import export_lerobot
    from curation.export_zarr import export_zarr
    from curation.workspace import open_workspace
    from recorder.video import available_codec

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "ds"
        record_expert_demos(data, args.episodes, seed=args.seed)
        out: dict = {"episodes": args.episodes, "codec": available_codec(), "crf": args.crf, "gop": args.gop,
                     "hdf5_mb": round(folder_mb(data / "episodes"), 2), "load_avg_1min": os.getloadavg()[0]}
        results = {}
        with open_workspace(data) as ws:
            for name, run in (("lerobot", lambda o: export_lerobot(ws, o, crf=args.crf, gop=args.gop)),
                              ("zarr", lambda o: export_zarr(ws, o))):
                dest = Path(tmp) / name
                t0 = time.perf_counter()
                report = run(dest)
                seconds = time.perf_counter() - t0
                frames = report.frames
                minutes = frames / 10.0 / 60.0
                mb = folder_mb(dest)
                results[name] = {"frames": frames, "seconds": round(seconds, 3),
                                 "frames_per_s": round(frames / seconds, 1), "mb": round(mb, 3),
                                 "mb_per_episode_minute": round(mb / minutes, 3)}
                if name == "lerobot":
                    videos = folder_mb(dest / "videos")
                    results[name]["video_mb_per_episode_minute"] = round(videos / minutes, 3)
        out["episode_minutes"] = round(results["lerobot"]["frames"] / 600.0, 3)
        out["hdf5_mb_per_episode_minute"] = round(out["hdf5_mb"] / out["episode_minutes"], 3)
        out.update(results)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
