"""`demostation train` started by the two launchers labs use, torchrun and `accelerate launch`, as two
gloo processes on the CPU: both really train with world size 2, print one JSON object (rank 0),
and — same data, config and seed — end with the same weights."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from episode_files import tiny_run_config, write_dataset

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # two launches of two processes each, ~10 s apiece on 2 cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launchers(port: int) -> dict[str, list[str]]:
    return {
        "torchrun": [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
                     "--master_addr", "127.0.0.1", "--master_port", str(port)],
        # --multi_gpu is accelerate's torch.distributed launcher; on a CPU machine it runs gloo. (`--cpu
        # --num_processes 2` would start ONE process unless mpirun is set up: see docs/policy.md.)
        "accelerate": [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                       "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                       "--main_process_ip", "127.0.0.1", "--main_process_port", str(port)],
    }


def test_torchrun_and_accelerate_launch_both_train_on_two_gloo_processes(tmp_path):
    data = write_dataset(tmp_path / "data", episodes=3, length=10, image_size=32)
    cfg = tiny_run_config().to_dict()
    cfg["train"].pop("device")
    cfg["train"].update(steps=4, batch_size=4)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    reports = {}
    for name, launcher in _launchers(_free_port()).items():
        run = tmp_path / f"run-{name}"
        cmd = launcher + ["-m", "app", "train", str(data), "--out", str(run), "--config", str(tmp_path / "cfg.json"),
                          "--device", "cpu", "--threads", "1", "--json"]
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, f"{name}: {r.stderr[-2000:]}"
        lines = r.stdout.strip().splitlines()
        assert len(lines) == 1, f"{name} printed {len(lines)} lines on stdout (rank 0 alone reports)"
        reports[name] = json.loads(lines[0])
        assert reports[name]["world_size"] == 2 and reports[name]["steps"] == 4, name
        assert (run / "checkpoints" / "last.safetensors").exists()
    assert reports["torchrun"]["weights_sha256"] == reports["accelerate"]["weights_sha256"]
