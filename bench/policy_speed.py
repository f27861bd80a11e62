"""Policy speed on this machine: action-chunk latency, and training vs loader throughput.

    python bench/policy_speed.py [--preset cpu] [--config FILE] [--threads 1] [--calls 60] [--episodes 12]

- **Chunk latency**: `predict_chunk` of the policy built by the preset (two 96×96 cameras), in
  the receding-horizon steady state: each call brings one new frame per camera, the older ones
  come from the feature cache (``steady``), and with every frame new (``cold``). Reported as wall
  time and as this process's CPU time: on a shared machine the wall time also counts the time
  other processes held the cores, the CPU time does not.
- **Throughput**: training samples per second of the model alone (forward, backward, AdamW, EMA
  on batches already assembled), of the RAM-cached loader alone (`Windows.batch`), of the lazy
  HDF5 loader (DataLoader, 0 and 2 workers), and of the two together (what training gets). The
  loader works on episodes recorded here with the station and its expert (`record_station`).

Prints one JSON object. Weights are random: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentiles(values: list[float]) -> dict:
    a = np.asarray(values)
    return {"p50": round(float(np.percentile(a, 50)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "mean": round(float(a.mean()), 2), "n": int(a.size)}


def chunk_latency(cfg, calls: int) -> dict:
    import torch

    from policy.inference import DiffusionPolicyRunner, Observation
    from policy.model import DiffusionPolicy

    pc = cfg.policy
    pc.lowdim_dim = 10
    model = DiffusionPolicy(pc)
    model.normalizer.fit("action", torch.rand(100, 10) * 2 - 1)
    model.normalizer.fit("lowdim", torch.rand(100, 10) * 2 - 1)
    runner = DiffusionPolicyRunner(model, "cpu")
    rng = np.random.default_rng(0)

    def obs(t: float) -> Observation:
        return Observation(t, np.array([0.45, 0, 0.2, 0, 1, 0, 0], np.float32), 0.0,
                           images={c: rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for c in pc.cameras})

    out = {}
    for mode in ("steady", "cold"):
        wall, cpu = [], []
        history = [obs(0.0)]
        for i in range(calls + 5):
            history = [history[-1], obs(0.1 * (i + 1))] if mode == "steady" else [obs(10.0 * i), obs(10.0 * i + 0.1)]
            c0, w0 = time.process_time(), time.perf_counter()
            runner.predict_chunk(history)
            if i >= 5:  # the first calls warm caches and allocators
                wall.append((time.perf_counter() - w0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
        out[mode] = {"wall_ms": percentiles(wall), "cpu_ms": percentiles(cpu)}
    return out


def throughput(cfg, data: Path, steps: int) -> dict:
    import torch

    from policy.ema import EMA
    from policy.model import DiffusionPolicy
    from policy.selection import select_episodes
    from policy.windows import Windows, batch_stream
    from recorder.dataset import Dataset

    pc, tc = cfg.policy, cfg.train
    open_ds = partial(Dataset, data)
    sel = select_episodes(open_ds())
    t0 = time.perf_counter()
    cached = Windows(open_ds, sel.episodes, pc, cache_images=True)
    decode_s = time.perf_counter() - t0
    lazy = Windows(open_ds, sel.episodes, pc, cache_images=False)
    pc.lowdim_dim = int(cached.lowdim.shape[-1])
    bs = tc.batch_size

    def rate(stream, n: int) -> float:
        next(stream)
        t = time.perf_counter()
        for _ in range(n):
            next(stream)
        return n * bs / (time.perf_counter() - t)

    loader = {"ram": rate(batch_stream(cached, bs, 0), 50)}
    for workers in (0, 2):
        loader[f"hdf5_workers{workers}"] = rate(batch_stream(lazy, bs, 0, num_workers=workers), 8)
    model = DiffusionPolicy(pc)
    model.normalizer.fit("action", cached.action)
    model.normalizer.fit("lowdim", cached.lowdim)
    ema = EMA(model)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr)
    fixed = cached.batch(torch.arange(bs) % len(cached))

    def step(batch) -> None:
        loss = model(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        ema.update(model)

    for _ in range(2):
        step(fixed)
    t = time.perf_counter()
    for _ in range(steps):
        step(fixed)
    model_rate = steps * bs / (time.perf_counter() - t)
    stream = batch_stream(cached, bs, 1)
    t = time.perf_counter()
    for _ in range(steps):
        step(next(stream))
    both = steps * bs / (time.perf_counter() - t)
    return {"model_samples_per_s": round(model_rate, 1), "training_samples_per_s": round(both, 1),
            "loader_samples_per_s": {k: round(v, 1) for k, v in loader.items()},
            "windows": len(cached), "episodes": len(sel), "decode_into_ram_s": round(decode_s, 2),
            "ram_cache_mb": round(cached.stats().image_bytes / 1e6, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--config", help="JSON overrides, as for `demostation train --config`")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--steps", type=int, default=10, help="training steps timed")
    ap.add_argument("--episodes", type=int, default=12, help="episodes recorded for the loader")
    ap.add_argument("--data", help="use this dataset instead of recording one")
    args = ap.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    import torch

    from bench.common import policy_config, record_expert_demos

    cfg = policy_config(args.preset, args.config, args.threads)
    result = {"preset": args.preset, "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
              "cores": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
              "policy": {k: getattr(cfg.policy, k) for k in ("encoder", "head", "objective", "sample_steps", "cameras",
                                                             "image_obs_steps", "horizon")},
              "chunk_latency": chunk_latency(cfg, args.calls)}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "data"
        if not args.data:
            record_expert_demos(data, args.episodes, seed=1000)
        result["throughput"] = throughput(cfg, data, args.steps)
    result["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
