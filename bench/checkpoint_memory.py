"""Peak memory of reading a checkpoint: a genuine one (GPU preset, with optimiser state) and a hostile
2 GB file whose header announces one weight of the wrong shape.

Each file is read in a fresh child process; the figure is the growth of its peak resident set
(``ru_maxrss``) over the reading alone, after torch and the model code are imported.

    python bench/checkpoint_memory.py [--hostile-gb 2]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = r"""
import json, sys, time
import torch
from policy.checkpoint import CheckpointError, read_checkpoint
import policy.model
from policy.config import RunConfig

with torch.device("meta"):  # code paths warmed up before the baseline: only the reading is measured
    policy.model.DiffusionPolicy(RunConfig().policy)


def peak_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def reset_peak():  # VmHWM back to the current resident set (ru_maxrss would include the parent's, from fork)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
reset_peak()
before = peak_kb()
t0 = time.perf_counter()
try:
    read_checkpoint(sys.argv[1]); error = None
except CheckpointError as exc:
    error = str(exc)
seconds = time.perf_counter() - t0
after = peak_kb()
print(json.dumps({"refused": error is not None, "peak_growth_mb": round((after - before) / 1024, 1),
                  "seconds": round(seconds, 3)}))
"""


def _genuine(path: Path) -> None:
    import torch

    from policy.checkpoint import optimizer_tensors, save_checkpoint
    from policy.config import preset
    from policy.model import DiffusionPolicy

    cfg = preset("gpu")
    cfg.policy.lowdim_dim = 10
    model = DiffusionPolicy(cfg.policy)
    sd = model.state_dict()
    opt = torch.optim.AdamW(model.parameters())
    for p in model.parameters():
        opt.state[p] = {"step": torch.tensor(1.0), "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
    opt_tensors, groups = optimizer_tensors(opt)
    tensors = {f"model.{k}": v for k, v in sd.items()} | {f"ema.{k}": v for k, v in sd.items()} | opt_tensors
    save_checkpoint(path, cfg, tensors, {"training": {"step": 1}, "optim_groups": groups})


def _hostile(genuine: Path, path: Path, gigabytes: float) -> None:
    data = genuine.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header["__metadata__"]
    side = int((gigabytes * 2**30 / 4) ** 0.5)
    raw = json.dumps({"__metadata__": meta, "model.x": {"dtype": "F32", "shape": [side, side],
                                                        "data_offsets": [0, side * side * 4]}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + side * side * 4)


def _measure(path: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    return json.loads(r.stdout.strip().splitlines()[-1]) | {"file_mb": round(path.stat().st_size / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hostile-gb", type=float, default=2.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        genuine, hostile = Path(tmp) / "genuine.safetensors", Path(tmp) / "hostile.safetensors"
        _genuine(genuine)
        _hostile(genuine, hostile, args.hostile_gb)
        print(json.dumps({"genuine_gpu_preset": _measure(genuine), "hostile": _measure(hostile),
                          "load_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
