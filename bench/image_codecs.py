"""Which HDF5 codec should episode images use? Measure it on real station frames.

Renders an expert episode's scene and wrist frames, writes them with each candidate codec in the
layout the recorder uses (chunks of one frame), and reports size, write (compress) time, random
single-frame read time (what a policy's data loader does) and sequential read time (what a replay
or an export does). Codecs that need the optional ``hdf5plugin`` package are measured when it can
be imported. Prints one JSON object.

    python bench/image_codecs.py [--frames 200] [--height 96 --width 96] [--chunk 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def collect_frames(n: int, height: int, width: int, seed: int) -> dict[str, np.ndarray]:
    from devices.sim.experts import ExpertKnobs
    from devices.sim.station import SimStation, StationConfig

    station = SimStation("pick_place", replace(StationConfig(), image_size=(height, width)))
    station.connect()
    frames: dict[str, list[np.ndarray]] = {c: [] for c in station.cameras}
    episode = 0
    while len(frames["scene"]) < n:
        station.reset(seed + episode)
        expert = station.task.make_expert(station, ExpertKnobs(noise=0.002), np.random.default_rng(seed + episode))
        while len(frames["scene"]) < n and not station.status().done:
            for c in station.cameras:
                frames[c].append(station.render(c))
            station.send_action(expert.act())
            station.step(0.1)
        episode += 1
    station.disconnect()
    return {c: np.stack(v) for c, v in frames.items()}


def candidate_codecs() -> dict[str, dict]:
    codecs: dict[str, dict] = {"none": {}, "lzf": {"compression": "lzf"}}
    for level in (1, 4, 6, 9):
        codecs[f"gzip-{level}"] = {"compression": "gzip", "compression_opts": level}
    try:
        import hdf5plugin
    except ImportError:
        return codecs
    codecs["blosc-lz4"] = dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.NOSHUFFLE))
    codecs["blosc-zstd-3"] = dict(hdf5plugin.Blosc(cname="zstd", clevel=3, shuffle=hdf5plugin.Blosc.NOSHUFFLE))
    codecs["zstd-3"] = dict(hdf5plugin.Zstd(clevel=3))
    codecs["lz4"] = dict(hdf5plugin.LZ4())
    return codecs


def bench_codec(frames: dict[str, np.ndarray], opts: dict, chunk: int, tmp: Path, reads: int,
                rng: np.random.Generator) -> dict:
    path = tmp / "bench.h5"
    raw = sum(a.nbytes for a in frames.values())
    t0 = time.perf_counter()
    with h5py.File(path, "w") as f:
        for cam, a in frames.items():
            f.create_dataset(cam, data=a, chunks=(chunk,) + a.shape[1:], **opts)
    write_s = time.perf_counter() - t0
    size = path.stat().st_size
    n = len(next(iter(frames.values())))
    idx = rng.integers(0, n, reads)
    with h5py.File(path, "r") as f:
        dsets = [f[c] for c in frames]
        t0 = time.perf_counter()
        for i in idx:
            for d in dsets:
                d[int(i)]
        random_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for d in dsets:
            d[:]
        seq_s = time.perf_counter() - t0
    path.unlink()
    frames_total = n * len(frames)
    return {
        "ratio": round(raw / size, 2),
        "kb_per_frame": round(size / frames_total / 1024, 2),
        "write_ms_per_frame": round(1e3 * write_s / frames_total, 3),
        "random_read_ms_per_frame": round(1e3 * random_s / (reads * len(frames)), 3),
        "seq_read_ms_per_frame": round(1e3 * seq_s / frames_total, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200, help="frames per camera")
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--chunk", type=int, default=1, help="frames per chunk")
    ap.add_argument("--reads", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    frames = collect_frames(args.frames, args.height, args.width, args.seed)
    rng = np.random.default_rng(args.seed)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, opts in candidate_codecs().items():
            results[name] = bench_codec(frames, opts, args.chunk, Path(tmp), args.reads, rng)
    print(json.dumps({"frames_per_camera": args.frames, "cameras": sorted(frames), "height": args.height,
                      "width": args.width, "chunk_frames": args.chunk, "h5py": h5py.__version__,
                      "cpu_count": os.cpu_count(), "codecs": results}))


if __name__ == "__main__":
    main()
