"""DistributedDataParallel on CPU: two gloo processes train the same tiny run and must agree."""

import json
import os
import socket

import torch
import torch.multiprocessing as mp
from episode_files import tiny_run_config, write_dataset

from recorder.dataset import Dataset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from policy.trainer import train

    cfg = tiny_run_config()
    cfg.train.steps, cfg.train.batch_size = 4, 4
    result = train(lambda: Dataset(data), f"{out}/run", cfg)
    with open(f"{out}/rank{rank}.json", "w") as f:
        json.dump({"digest": result.weights_sha256, "world": result.world_size, "steps": result.steps}, f)


def test_two_gloo_ranks_train_the_same_weights(tmp_path):
    data = write_dataset(tmp_path / "data", episodes=3, length=10, image_size=32)
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2 and r0["steps"] == r1["steps"] == 4
    assert r0["digest"] == r1["digest"]
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").exists()  # written by rank 0 only
