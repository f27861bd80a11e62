"""Reading a dataset: episodes listed, crashed recordings recovered, files opened only on demand.

`Dataset` first recovers any crashed recording (see `recorder.recover`: two directory globs when
there is nothing to recover), then lists ``DATASET/episodes/`` by file name only. Building it opens
no episode file, so a dataset of thousands of episodes is ready at once: `file_ids` lists every
episode file, `open` opens one, and the file is checked (format name and version) when it is first
read. Asking for `episode_ids` / `problems` checks every file (once, cached): a file that cannot be
read is reported by `problems()` and skipped, never fatal. `Episode` opens its HDF5 file on first
use, reads only the root attributes asked for, and reads images only for the indices asked for, so
curation and training never load a whole episode's images. Files are opened read-only: nothing here
can change a recording.
"""

from __future__ import annotations

import contextlib
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


def require_dataset(root: str | Path) -> Path:
    """``root`` as a dataset folder to read, or one line saying why it is not one.

    The one rule every reading command applies (validate, info, curate, export, train), so a folder
    that is not a dataset is never reported as an empty, sound one.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no dataset at {root}: the folder does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a dataset folder")
    episodes = fmt.episodes_dir(root)
    if not episodes.is_dir():
        raise ValueError(f"{root} is not a dataset: it has no episodes/ folder")
    if not os.access(episodes, os.R_OK | os.X_OK):
        raise PermissionError(f"{episodes} cannot be read (permission denied)")
    return root


def require_recordable(root: str | Path) -> Path:
    """``root`` as a folder to record into: a dataset, an empty folder, or one that does not exist yet.

    A folder that holds other things and no ``episodes/`` is someone's other data (``/etc``, a home
    folder): recording would plant a dataset in it, so it is refused in one line.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} is a file; --out needs a dataset folder")
    if root.is_dir() and not fmt.episodes_dir(root).is_dir():
        try:
            occupied = next(iter(root.iterdir()), None) is not None
        except PermissionError:
            raise PermissionError(f"{root} cannot be read (permission denied)") from None
        if occupied:
            raise ValueError(f"{root} is not a dataset (no episodes/ folder) and is not empty; record into a new "
                             "folder or an existing dataset")
    return root


class Dataset:
    def __init__(self, root: str | Path, recover: bool = True) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FileNotFoundError(f"no dataset at {self.root}")
        if not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is a file, not a dataset folder")
        self.recovery = recover_dataset(self.root) if recover else RecoveryReport()
        self._problems: list[FileProblem] = [FileProblem(*p.split(": ", 1)) for p in self.recovery.problems]
        self._files: dict[str, Path] = self._list_files()  # every episode file, by id; none opened yet
        self._paths: dict[str, Path] | None = None  # the readable ones, once every file was checked

    @property
    def episodes_dir(self) -> Path:
        return fmt.episodes_dir(self.root)

    def _list_files(self) -> dict[str, Path]:
        folder = self.episodes_dir
        if not folder.is_dir():
            return {}
        return {path.stem: path for path in sorted(folder.glob("ep_*" + fmt.EPISODE_SUFFIX))
                if fmt.episode_number(path.stem) is not None}

    def _checked(self) -> dict[str, Path]:
        """The readable episode files; the first call opens every file once to check it."""
        if self._paths is None:
            paths: dict[str, Path] = {}
            for eid, path in self._files.items():
                problem = check_episode_file(path)
                if problem is None:
                    paths[eid] = path
                else:
                    self._problems.append(FileProblem(path.name, problem))
            self._paths = paths
        return self._paths

    def file_ids(self) -> list[str]:
        """Every episode file's id, from the file names alone (no file is opened; unchecked)."""
        return list(self._files)

    def path(self, episode_id: str) -> Path:
        """The episode file of ``episode_id`` (listed by `file_ids`)."""
        try:
            return self._files[episode_id]
        except KeyError:
            raise ValueError(f"no episode file {episode_id!r} in {self.episodes_dir}") from None

    def episode_ids(self) -> list[str]:
        """The readable episodes (checks every file on first use; see `file_ids` for the cheap list)."""
        return sorted(self._checked())

    def problems(self) -> list[str]:
        """One line per unreadable or corrupt file (those files are skipped); checks every file."""
        self._checked()
        return [p.line() for p in self._problems]

    def problem_details(self) -> list[FileProblem]:
        self._checked()
        return list(self._problems)

    @property
    def in_progress(self) -> list[str]:
        """Episodes being recorded right now by another process (not yet readable)."""
        return list(self.recovery.in_progress)

    def open(self, episode_id: str) -> "Episode":
        """The episode, opened lazily; a file not checked yet is checked when it is first read."""
        readable = self._paths if self._paths is not None else self._files
        try:
            return Episode(readable[episode_id])
        except KeyError:
            known = ", ".join(sorted(readable)[:5]) or "none"
            raise ValueError(f"no readable episode {episode_id!r} in {self.root} (episodes: {known}...)") from None

    def __len__(self) -> int:
        return len(self._checked())

    def __iter__(self) -> Iterator["Episode"]:
        for eid in self.episode_ids():
            yield Episode(self._checked()[eid])

    def __contains__(self, episode_id: object) -> bool:
        return episode_id in self._checked()


def check_episode_file(path: Path) -> str | None:
    """None when ``path`` opens as a Demo Station episode, else why not (one line)."""
    try:
        with h5py.File(path, "r") as f:
            return file_problem(f)
    except OSError as exc:
        return f"unreadable HDF5 file ({_first_line(exc)})"


def file_problem(f: h5py.File) -> str | None:
    """None when the open file is a Demo Station episode this version reads, else why not (one line)."""
    try:
        attrs = f.attrs  # each `f.attrs` builds a new manager (~0.1 ms): take it once
        name = _text(attrs.get("format"))
        if name != fmt.FORMAT_NAME:
            return f"not a Demo Station episode (format attribute {name!r})"
        version = int(attrs.get("format_version", -1))
        if version > fmt.FORMAT_VERSION:
            return (f"format version {version} is newer than this Demo Station reads ({fmt.FORMAT_VERSION}); "
                    "update Demo Station")
        try:
            _ = f[fmt.TIME].shape  # touches the object header
        except KeyError:
            return f"missing dataset {fmt.TIME!r}"
    except OSError as exc:
        return f"unreadable HDF5 file ({_first_line(exc)})"
    except (ValueError, TypeError, KeyError) as exc:
        return f"damaged episode file ({_first_line(exc)})"
    return None


class EpisodeFileError(ValueError):
    """An episode file that cannot be read as one (its one-line reason is the message)."""


class Episode:
    """One episode file, opened lazily; use as a context manager or call `close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.id = self.path.stem
        self._file: h5py.File | None = None
        self._pid = 0
        self._attrs: dict | None = None
        self._attr_cache: dict[str, object] = {}
        self._root_attrs: h5py.AttributeManager | None = None
        self._time_ds: h5py.Dataset | None = None
        self._cache: dict[str, np.ndarray] = {}

    # -- file handling ------------------------------------------------------------------------------
    @property
    def file(self) -> h5py.File:
        """The open HDF5 file (reopened after a fork: HDF5 handles must not cross processes).

        Opening checks it is an episode this version reads (`EpisodeFileError` with the reason if
        not), so a dataset need not check every file before any is used.
        """
        if self._file is None or self._pid != os.getpid():
            try:
                f = h5py.File(self.path, "r")
            except OSError as exc:
                raise EpisodeFileError(f"{self.path.name}: unreadable HDF5 file ({_first_line(exc)})") from None
            problem = file_problem(f)
            if problem is not None:
                f.close()
                raise EpisodeFileError(f"{self.path.name}: {problem}")
            self._file = f
            self._pid = os.getpid()
            self._root_attrs = f.attrs
            self._time_ds = None
        return self._file

    def _time_dataset(self) -> h5py.Dataset:
        f = self.file
        if self._time_ds is None:
            self._time_ds = f[fmt.TIME]
        return self._time_ds

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None
        self._root_attrs = None
        self._time_ds = None

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
                    with contextlib.suppress(json.JSONDecodeError):
                        value = json.loads(value)
                out[key] = value
            self._attrs = out
        return self._attrs

    def attr(self, key: str, default: object = None) -> object:
        """One root attribute, decoded as in `attrs`, reading only that one from the file.

        Reading every attribute costs about 0.2 ms each (h5py); listing a dataset needs five or
        six of an episode's fifteen, so the properties below read just theirs.
        """
        if self._attrs is not None:
            return self._attrs.get(key, default)
        if key not in self._attr_cache:
            self.file  # noqa: B018 - opens the file (and its attribute manager) if needed
            value = _plain(self._root_attrs.get(key))  # type: ignore[union-attr]
            if key in fmt.JSON_ATTRS and isinstance(value, str):
                with contextlib.suppress(json.JSONDecodeError):
                    value = json.loads(value)
            self._attr_cache[key] = value
        value = self._attr_cache[key]
        return default if value is None else value

    @property
    def complete(self) -> bool:
        return bool(self.attr("complete", False))

    @property
    def task(self) -> str:
        return str(self.attr("task", ""))

    @property
    def device(self) -> str:
        return str(self.attr("device", ""))

    @property
    def operator(self) -> str:
        return str(self.attr("operator", ""))

    @property
    def rate_hz(self) -> float:
        return float(self.attr("rate_hz", float("nan")))  # type: ignore[arg-type]

    @property
    def events(self) -> list[dict]:
        return list(self.attr("events") or [])  # type: ignore[call-overload]

    @property
    def sources(self) -> list[str]:
        return list(self.attr("sources") or [])  # type: ignore[call-overload]

    @property
    def success(self) -> bool | None:
        v = self.attr("success")
        return None if v is None else bool(v)

    @property
    def score(self) -> float | None:
        v = self.attr("score")
        return None if v is None else float(v)  # type: ignore[arg-type]

    @property
    def seed(self) -> int | None:
        v = self.attr("seed")
        return None if v is None else int(v)  # type: ignore[call-overload]

    @property
    def timing(self) -> dict:
        return dict(self.attr("timing") or {})  # type: ignore[call-overload]

    @property
    def cameras(self) -> list[dict]:
        return list(self.attr("cameras") or [])  # type: ignore[call-overload]

    @property
    def duration_s(self) -> float:
        return len(self) / self.rate_hz if self.rate_hz > 0 else float("nan")

    @property
    def last_time(self) -> float | None:
        """The last tick's time (reads one value, not the whole ``time`` array); None when empty."""
        if fmt.TIME in self._cache:
            t = self._cache[fmt.TIME]
            return float(t[-1]) if len(t) else None
        ds = self._time_dataset()
        return float(ds[ds.shape[0] - 1]) if ds.shape[0] else None

    # -- arrays -------------------------------------------------------------------------------------
    def _array(self, key: str) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = self.file[key][()]
        return self._cache[key]

    def __len__(self) -> int:
        return int(self._time_dataset().shape[0])

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
    def has_command(self) -> bool:
        """Whether the file stores the source's request beside the applied action (older recordings lack it)."""
        return fmt.COMMAND_POSE in self.file and fmt.COMMAND_GRIPPER in self.file

    def command(self) -> np.ndarray | None:
        """(T, 8): what the command source asked for at each tick, before the safety filter; None
        for files recorded before it was stored. Same instants as `action`."""
        if not self.has_command:
            return None
        return np.concatenate([self._array(fmt.COMMAND_POSE), self._array(fmt.COMMAND_GRIPPER)], axis=1)

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
