"""Run inside the LeRobot virtual environment (scripts/lerobot_venv.sh): load a dataset folder with
LeRobot's own ``LeRobotDataset`` (pyav video backend) and dump what it gives for every frame, so the
test in our environment can compare it with the source episodes.

    python tests/lerobot_reader.py DATASET_DIR OUT.npz
"""

import json
import sys

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset


def main(root: str, out: str) -> None:
    ds = LeRobotDataset("demostation/export", root=root, video_backend="pyav")
    columns: dict[str, list] = {}
    tasks = []
    for i in range(len(ds)):  # every frame: numbers from the parquet, images decoded at their timestamp
        item = ds[i]
        tasks.append(item.pop("task"))
        for key, value in item.items():
            v = value.numpy()
            if key in ds.meta.camera_keys:  # float [0, 1] channels first -> uint8 (H, W, 3)
                v = np.round(np.moveaxis(v, 0, -1) * 255.0).astype(np.uint8)
            columns.setdefault(key, []).append(v)
    arrays = {k: np.stack(v) for k, v in columns.items()}
    meta = {"fps": ds.fps, "num_episodes": ds.num_episodes, "num_frames": ds.num_frames,
            "camera_keys": ds.meta.camera_keys, "features": {k: list(v["shape"]) for k, v in ds.features.items()},
            "names": {k: v.get("names") for k, v in ds.features.items()},
            "episodes": [{k: (v if not hasattr(v, "tolist") else v.tolist()) for k, v in ds.meta.episodes[e].items()
                          if not k.startswith("stats/")} for e in range(ds.num_episodes)],
            "stats_keys": sorted(ds.meta.stats), "tasks": tasks, "total_tasks": ds.meta.total_tasks}
    np.savez(out, **arrays)
    with open(out + ".json", "w") as f:
        json.dump(meta, f, default=str)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
