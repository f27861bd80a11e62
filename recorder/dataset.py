"""Reading a dataset: episodes listed, crashed recordings recovered, images read lazily.

`Dataset` scans ``DATASET/episodes/``, first recovering any crashed recording (see
`recorder.recover`), and checks every episode file just enough to know it can be read; a file that
cannot is reported by `problems()` and skipped, never fatal. `Episode` opens its HDF5 file on first
use and reads images only for the indices asked for, so curation and training never load a whole
episode's images. Files are opened read-only: nothing here can change a recording.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from recorder import format as fmt
from recorder.recover import RecoveryReport, recover_dataset


@dataclass(frozen=True)
class FileProblem:
    """A file of the dataset that cannot be used, and why."""

    name: str
    message: str

    def line(self) -> str:
        return f"{self.name}: {self.message}"


class Dataset:
    def __init__(self, root: str | Path, recover: bool = True) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FileNotFoundError(f"no dataset at {self.root}")
        if not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is a file, not a dataset folder")
        self.recovery = recover_dataset(self.root) if recover else RecoveryReport()
        self._problems: list[FileProblem] = [FileProblem(*p.split(": ", 1)) for p in self.recovery.problems]
        self._paths: dict[str, Path] = {}
        self._scan()

    @property
    def episodes_dir(self) -> Path:
        return fmt.episodes_dir(self.root)

    def _scan(self) -> None:
        folder = self.episodes_dir
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("ep_*" + fmt.EPISODE_SUFFIX)):
            if fmt.episode_number(path.stem) is None:
                continue
            problem = check_episode_file(path)
            if problem is None:
                self._paths[path.stem] = path
            else:
                self._problems.append(FileProblem(path.name, problem))

    def episode_ids(self) -> list[str]:
        return sorted(self._paths)

    def problems(self) -> list[str]:
        """One line per unreadable or corrupt file (those files are skipped)."""
        return [p.line() for p in self._problems]

    def problem_details(self) -> list[FileProblem]:
        return list(self._problems)

    @property
    def in_progress(self) -> list[str]:
        """Episodes being recorded right now by another process (not yet readable)."""
        return list(self.recovery.in_progress)

    def open(self, episode_id: str) -> "Episode":
        try:
            return Episode(self._paths[episode_id])
        except KeyError:
            known = ", ".join(self.episode_ids()[:5]) or "none"
            raise ValueError(f"no readable episode {episode_id!r} in {self.root} (episodes: {known}...)") from None

    def __len__(self) -> int:
        return len(self._paths)

    def __iter__(self) -> Iterator["Episode"]:
        for eid in self.episode_ids():
            yield Episode(self._paths[eid])

    def __contains__(self, episode_id: object) -> bool:
        return episode_id in self._paths


def check_episode_file(path: Path) -> str | None:
    """None when ``path`` opens as a Demo Station episode, else why not (one line)."""
    try:
        with h5py.File(path, "r") as f:
            name = _text(f.attrs.get("format"))
            if name != fmt.FORMAT_NAME:
                return f"not a Demo Station episode (format attribute {name!r})"
            version = int(f.attrs.get("format_version", -1))
            if version > fmt.FORMAT_VERSION:
                return (f"format version {version} is newer than this Demo Station reads ({fmt.FORMAT_VERSION}); "
                        "update Demo Station")
            if fmt.TIME not in f:
                return f"missing dataset {fmt.TIME!r}"
            f[fmt.TIME].shape  # touches the object header
    except OSError as exc:
        return f"unreadable HDF5 file ({_first_line(exc)})"
    except (ValueError, TypeError, KeyError) as exc:
        return f"damaged episode file ({_first_line(exc)})"
    return None


class Episode:
    """One episode file, opened lazily; use as a context manager or call `close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.id = self.path.stem
        self._file: h5py.File | None = None
        self._pid = 0
        self._attrs: dict | None = None
        self._cache: dict[str, np.ndarray] = {}

    # -- file handling ------------------------------------------------------------------------------
    @property
    def file(self) -> h5py.File:
        """The open HDF5 file (reopened after a fork: HDF5 handles must not cross processes)."""
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def __enter__(self) -> "Episode":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Episode({self.id!r}, {self.path})"

    # -- metadata -----------------------------------------------------------------------------------
    @property
    def attrs(self) -> dict:
        """Root attributes, JSON ones decoded, numpy scalars as Python values."""
        if self._attrs is None:
            out = {}
            for key, value in self.file.attrs.items():
                value = _plain(value)
                if key in fmt.JSON_ATTRS and isinstance(value, str):
                    try:
                        value = json.loads(value)
                    except json.JSONDecodeError:
                        pass
                out[key] = value
            self._attrs = out
        return self._attrs

    @property
    def complete(self) -> bool:
        return bool(self.attrs.get("complete", False))

    @property
    def task(self) -> str:
        return str(self.attrs.get("task", ""))

    @property
    def device(self) -> str:
        return str(self.attrs.get("device", ""))

    @property
    def operator(self) -> str:
        return str(self.attrs.get("operator", ""))

    @property
    def rate_hz(self) -> float:
        return float(self.attrs.get("rate_hz", float("nan")))

    @property
    def events(self) -> list[dict]:
        return list(self.attrs.get("events") or [])

    @property
    def sources(self) -> list[str]:
        return list(self.attrs.get("sources") or [])

    @property
    def success(self) -> bool | None:
        v = self.attrs.get("success")
        return None if v is None else bool(v)

    @property
    def score(self) -> float | None:
        v = self.attrs.get("score")
        return None if v is None else float(v)

    @property
    def seed(self) -> int | None:
        v = self.attrs.get("seed")
        return None if v is None else int(v)

    @property
    def timing(self) -> dict:
        return dict(self.attrs.get("timing") or {})

    @property
    def cameras(self) -> list[dict]:
        return list(self.attrs.get("cameras") or [])

    @property
    def duration_s(self) -> float:
        return len(self) / self.rate_hz if self.rate_hz > 0 else float("nan")

    # -- arrays -------------------------------------------------------------------------------------
    def _array(self, key: str) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = self.file[key][()]
        return self._cache[key]

    def __len__(self) -> int:
        return int(self.file[fmt.TIME].shape[0])

    @property
    def time(self) -> np.ndarray:
        return self._array(fmt.TIME)

    @property
    def action_pose(self) -> np.ndarray:
        return self._array(fmt.ACTION_POSE)

    @property
    def action_gripper(self) -> np.ndarray:
        return self._array(fmt.ACTION_GRIPPER)

    @property
    def action_source(self) -> np.ndarray:
        return self._array(fmt.ACTION_SOURCE)

    @property
    def tick_error(self) -> np.ndarray:
        return self._array(fmt.TICK_ERROR) if fmt.TICK_ERROR in self.file else np.zeros(len(self))

    def action(self) -> np.ndarray:
        """(T, 8): end-effector pose target and gripper command, as applied by the robot."""
        return np.concatenate([self.action_pose, self.action_gripper], axis=1)

    @property
    def obs_keys(self) -> list[str]:
        group = self.file.get("obs")
        if group is None:
            return []
        return [k for k, v in group.items() if isinstance(v, h5py.Dataset)]

    def obs(self, key: str) -> np.ndarray:
        """A low-dimensional observation: ``ee_pose``, ``gripper``, ``ee_wrench``, ``joint_pos``..."""
        full = fmt.OBS_PREFIX + key
        if full not in self.file or not isinstance(self.file[full], h5py.Dataset):
            raise KeyError(f"episode {self.id} has no observation {key!r} (it has {', '.join(self.obs_keys)})")
        return self._array(full)

    @property
    def camera_names(self) -> list[str]:
        group = self.file.get(fmt.IMAGES_PREFIX.rstrip("/"))
        return list(group.keys()) if group is not None else []

    def _images(self, camera: str) -> h5py.Dataset:
        key = fmt.IMAGES_PREFIX + camera
        if key not in self.file:
            raise KeyError(f"episode {self.id} has no camera {camera!r} (it has {', '.join(self.camera_names)})")
        return self.file[key]

    def image_shape(self, camera: str) -> tuple[int, int, int]:
        return tuple(self._images(camera).shape[1:])  # type: ignore[return-value]

    def images(self, camera: str, index: int | slice | np.ndarray | list[int]) -> np.ndarray:
        """Frames of ``camera`` at ``index`` (int → (H,W,3); slice or indices → (n,H,W,3)); reads only those."""
        ds = self._images(camera)
        n = ds.shape[0]
        if isinstance(index, (int, np.integer)):
            i = int(index)
            if not -n <= i < n:
                raise IndexError(f"frame {i} out of range for {n} frames")
            return ds[i % n]
        if isinstance(index, slice):
            return ds[index]
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64).ravel()
        if idx.size == 0:
            return np.empty((0,) + ds.shape[1:], dtype=ds.dtype)
        if np.any(idx < -n) or np.any(idx >= n):
            raise IndexError(f"frame indices out of range for {n} frames")
        idx = idx % n
        unique, inverse = np.unique(idx, return_inverse=True)  # h5py wants increasing, distinct indices
        return ds[unique][inverse]

    def image_time(self, camera: str) -> np.ndarray:
        """Capture time of each stored frame, seconds since the episode start (``time - image_time`` = staleness)."""
        self._images(camera)
        return self._array(fmt.IMAGE_TIME_PREFIX + camera)


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _text(value: object) -> str | None:
    value = _plain(value)
    return value if isinstance(value, str) else None


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
