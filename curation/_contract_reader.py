"""A minimal reader of the dataset contract, used until ``recorder.dataset`` lands on this branch.

It implements only the part of the contract's ``Dataset`` / ``Episode`` API that curation uses,
with the same names and behaviour (unreadable files are listed by ``problems()`` and skipped), so
swapping it for ``recorder.dataset.Dataset`` changes one import in ``curation/source.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

_EPISODE_FILE = re.compile(r"^ep_\d{6,}\.h5$")
_JSON_ATTRS = ("station", "cameras", "events", "timing", "sources")


def _decode(key: str, value: object) -> object:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if key in _JSON_ATTRS and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


class Episode:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.id = path.stem
        self._file: h5py.File | None = h5py.File(path, "r")
        f = self._file
        self.attrs = {k: _decode(k, v) for k, v in f.attrs.items()}
        if self.attrs.get("format") != "demostation-episode":
            raise ValueError(f"{path.name} is not a demostation episode")
        self.time = f["time"][()]
        self.action_pose = f["action/ee_pose"][()]
        self.action_gripper = f["action/gripper"][()]
        self.action_source = f["action/source"][()] if "action/source" in f else None
        images = f.get("obs/images")
        self.camera_names = sorted(images.keys()) if images is not None else []
        self.events = list(self.attrs.get("events") or [])
        self.complete = bool(self.attrs.get("complete", False))
        self.task = str(self.attrs.get("task", ""))
        self.device = str(self.attrs.get("device", ""))
        self.rate_hz = float(self.attrs.get("rate_hz", 10.0))

    def __len__(self) -> int:
        return len(self.time)

    def action(self) -> np.ndarray:
        return np.concatenate([self.action_pose, self.action_gripper], axis=1)

    @property
    def obs_keys(self) -> list[str]:
        group = self._file.get("obs")
        return [k for k, v in group.items() if isinstance(v, h5py.Dataset)] if group is not None else []

    def obs(self, key: str) -> np.ndarray:
        try:
            return self._file[f"obs/{key}"][()]
        except KeyError:
            raise KeyError(f"episode {self.id} has no observation {key!r}") from None

    def images(self, camera: str, index: int | slice | np.ndarray) -> np.ndarray:
        ds = self._file[f"obs/images/{camera}"]
        if isinstance(index, (np.ndarray, list)):
            idx = np.asarray(index, dtype=np.int64)
            if idx.size == 0:
                return np.zeros((0,) + ds.shape[1:], ds.dtype)
            unique, inverse = np.unique(idx, return_inverse=True)  # h5py wants increasing indices
            return ds[unique][inverse]
        return ds[index]

    def image_time(self, camera: str) -> np.ndarray:
        return self._file[f"obs/image_time/{camera}"][()]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "Episode":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Dataset:
    def __init__(self, root: str | Path, recover: bool = True) -> None:
        self.root = Path(root)
        self._ids: list[str] = []
        self._problems: list[str] = []
        folder = self.root / "episodes"
        for path in sorted(folder.glob("ep_*.h5")) if folder.is_dir() else []:
            if not _EPISODE_FILE.match(path.name):
                continue
            try:
                Episode(path).close()
                self._ids.append(path.stem)
            except Exception as exc:  # any unreadable file is reported and skipped, never fatal
                self._problems.append(f"{path.name}: unreadable ({type(exc).__name__}: {exc})")

    def episode_ids(self) -> list[str]:
        return list(self._ids)

    def problems(self) -> list[str]:
        return list(self._problems)

    def open(self, episode_id: str) -> Episode:
        if episode_id not in self._ids:
            raise ValueError(f"unknown episode {episode_id!r}")
        return Episode(self.root / "episodes" / f"{episode_id}.h5")

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[Episode]:
        for i in self._ids:
            yield self.open(i)
