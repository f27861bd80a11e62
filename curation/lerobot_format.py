"""LeRobotDataset format v3.0, as LeRobot 0.4.x lays it out and reads it (shared by our exporter
and importer; no LeRobot code, only the layout its `lerobot.datasets` modules read):

    meta/info.json        codebase_version "v3.0", fps (int), features {key: {dtype, shape, names[, info]}},
                          data_path / video_path templates, totals, chunks_size, file size caps, splits
                          ({"train": "0:N"}: episode index ranges)
    meta/stats.json       {feature: {min, max, mean, std, count, q01, q10, q50, q90, q99}}; per dimension
                          for vectors, per channel (3, 1, 1) in [0, 1] for videos
    meta/tasks.parquet    one row per task: column task_index, pandas index = the task text
    meta/episodes/chunk-000/file-000.parquet
                          one row per episode: episode_index, tasks, length, data/chunk_index,
                          data/file_index, dataset_from_index, dataset_to_index, and per camera
                          videos/<key>/{chunk_index, file_index, from_timestamp, to_timestamp},
                          meta/episodes/{chunk_index, file_index}, stats/<feature>/<stat>
    data/chunk-000/file-000.parquet
                          one row per frame: timestamp (float32, seconds in the episode), frame_index,
                          episode_index, index (global), task_index (int64), then the features
    videos/<key>/chunk-000/file-000.mp4
                          every episode's frames back to back; an episode's frame k is at
                          from_timestamp + k / fps
"""

from __future__ import annotations

import json

import numpy as np

CODEBASE_VERSION = "v3.0"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
CHUNKS_SIZE = 1000
DATA_FILE_MB = 100
VIDEO_FILE_MB = 200
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
STATE = "observation.state"
ACTION = "action"
IMAGE_PREFIX = "observation.images."
NUMERIC_DTYPES = ("float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool")
KNOWN_DTYPES = NUMERIC_DTYPES + ("video", "image", "string")

# Names of each low-dim key's components: the quaternion order is in the names (w first, as the
# station and our Action contract store it; LeRobot's own datasets vary, so the names say it).
COMPONENT_NAMES = {
    "ee_pose": ["x", "y", "z", "qw", "qx", "qy", "qz"],
    "gripper": ["gripper"],
    "ee_wrench": ["fx", "fy", "fz", "tx", "ty", "tz"],
}
ACTION_NAMES = ["x", "y", "z", "qw", "qx", "qy", "qz", "gripper"]


def component_names(key: str, width: int) -> list[str]:
    names = COMPONENT_NAMES.get(key)
    if names is None or len(names) != width:
        names = [str(i) for i in range(width)]
    return [f"{key}.{n}" for n in names]


def vector_stats(values: np.ndarray) -> dict[str, list]:
    """LeRobot's statistics of a (N, D) feature over frames (exact quantiles; LeRobot estimates them)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    out = {"min": v.min(0), "max": v.max(0), "mean": v.mean(0), "std": v.std(0), "count": np.array([len(v)])}
    for name, q in QUANTILES.items():
        out[name] = np.quantile(v, q, axis=0)
    return {k: np.asarray(x).tolist() for k, x in out.items()}


class ImageStats:
    """Per-channel statistics of uint8 RGB frames, in [0, 1] and shaped (3, 1, 1) as LeRobot stores
    them; a 256-bin histogram per channel makes the quantiles exact without keeping the frames."""

    def __init__(self) -> None:
        self.hist = np.zeros((3, 256), np.int64)
        self.frames = 0

    def add(self, frames: np.ndarray) -> None:
        for c in range(3):
            self.hist[c] += np.bincount(frames[..., c].ravel(), minlength=256)
        self.frames += len(frames)

    def result(self) -> dict[str, list]:
        levels = np.arange(256) / 255.0
        total = self.hist.sum(1, keepdims=True)
        mean = (self.hist * levels).sum(1) / total[:, 0]
        var = (self.hist * levels ** 2).sum(1) / total[:, 0] - mean ** 2
        cum = np.cumsum(self.hist, 1)
        present = self.hist > 0
        out = {"min": levels[present.argmax(1)], "max": levels[255 - present[:, ::-1].argmax(1)],
               "mean": mean, "std": np.sqrt(np.maximum(var, 0.0))}
        for name, q in QUANTILES.items():
            out[name] = levels[np.array([np.searchsorted(cum[c], q * total[c, 0]) for c in range(3)])]
        res = {k: np.asarray(v, float).reshape(3, 1, 1).tolist() for k, v in out.items()}
        res["count"] = [self.frames]
        return res


def tasks_pandas_metadata(pyarrow_version: str) -> bytes:
    """The ``pandas`` schema metadata that makes ``pandas.read_parquet`` give the task text as the
    index (LeRobot looks a task up with ``tasks.loc[text]`` and names it with ``.iloc[i].name``)."""
    return json.dumps({
        "index_columns": ["__index_level_0__"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
                            "metadata": {"encoding": "UTF-8"}}],
        "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                     "numpy_type": "int64", "metadata": None},
                    {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
                     "numpy_type": "object", "metadata": None}],
        "attributes": {}, "creator": {"library": "pyarrow", "version": pyarrow_version},
        "pandas_version": "2.2.0"}).encode()
