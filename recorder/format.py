"""The episode file format: names, version, layout and image codecs, in one place.

Everything that writes or reads an episode (writer, recovery, reader, validator) takes its names
from here, so the schema documented in ``docs/dataset-format.md`` has one source of truth in code.
The layout of an episode is built from the devices that record it (the robot's ``features`` and
each camera's ``info``), never hard-coded, so a robot with joint positions or a third camera
records them without any change here.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from devices.camera import Camera, CameraInfo
from devices.robot import POSE_DIM

FORMAT_NAME = "demostation-episode"
FORMAT_VERSION = 1

EPISODES_DIR = "episodes"
EPISODE_SUFFIX = ".h5"
JOURNAL_SUFFIX = ".journal"
TEMP_SUFFIX = ".h5.tmp"
_EPISODE_ID = re.compile(r"^ep_(\d{6,})$")

# Datasets every episode has (the validator checks them; the reader relies on them).
TIME = "time"
ACTION_POSE = "action/ee_pose"
ACTION_GRIPPER = "action/gripper"
ACTION_SOURCE = "action/source"
# Optional (added without a version change, as docs/dataset-format.md allows): the command source's
# request before the safety filter. Older recordings lack it; `Episode.command` is then None.
COMMAND_POSE = "command/ee_pose"
COMMAND_GRIPPER = "command/gripper"
TICK_ERROR = "timing/tick_error"
OBS_PREFIX = "obs/"
IMAGES_PREFIX = "obs/images/"
IMAGE_TIME_PREFIX = "obs/image_time/"
REQUIRED_DATASETS = (TIME, ACTION_POSE, ACTION_GRIPPER, ACTION_SOURCE, "obs/ee_pose", "obs/gripper")

# Root attributes stored as JSON text (the reader decodes them).
JSON_ATTRS = ("station", "cameras", "events", "timing", "sources", "tags", "start_command", "recovered_lost",
              "scene")
REQUIRED_ATTRS = ("format", "format_version", "rate_hz", "task", "device", "operator", "station", "cameras",
                  "software_version", "start_time", "complete", "sources", "events", "timing")

# Robot features that are observations (everything else in `features`, e.g. images, is not).
LOWDIM_OBS_ORDER = ("ee_pose", "gripper", "ee_wrench", "joint_pos")


def episode_id(number: int) -> str:
    return f"ep_{number:06d}"


def episode_number(name: str) -> int | None:
    """The number in an episode id or file stem (``ep_000012`` → 12), None for other names."""
    m = _EPISODE_ID.match(name)
    return int(m.group(1)) if m else None


def episodes_dir(root: str | Path) -> Path:
    return Path(root) / EPISODES_DIR


def next_episode_number(folder: Path) -> int:
    """One more than the highest episode number used by any file (finished, journal, temporary or kept aside)."""
    numbers = [-1]
    if folder.is_dir():
        for p in folder.iterdir():
            stem = p.name.split(".", 1)[0]
            n = episode_number(stem)
            if n is not None:
                numbers.append(n)
    return max(numbers) + 1


def software_version() -> str:
    """The installed Demo Station version, recorded in every episode."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("demostation")
    except PackageNotFoundError:
        return "0+unknown"


# -- layout ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArraySpec:
    """One per-sample dataset: its key in the file, the shape of one sample and its dtype."""

    key: str
    shape: tuple[int, ...]
    dtype: str

    def empty(self, n: int) -> np.ndarray:
        return np.empty((n,) + self.shape, dtype=self.dtype)


@dataclass(frozen=True)
class EpisodeLayout:
    """What each tick stores: low-dimensional arrays and one image stream per camera."""

    lowdim: tuple[ArraySpec, ...]
    cameras: tuple[CameraInfo, ...] = ()

    @classmethod
    def from_devices(cls, robot_features: Mapping[str, tuple[int, ...]],
                     cameras: Mapping[str, Camera]) -> "EpisodeLayout":
        """Lay out an episode from a robot's ``features`` and the cameras' ``info``."""
        specs = [
            ArraySpec(TIME, (), "float64"),
            ArraySpec(TICK_ERROR, (), "float64"),
            ArraySpec(ACTION_POSE, (POSE_DIM,), "float32"),
            ArraySpec(ACTION_GRIPPER, (1,), "float32"),
            ArraySpec(ACTION_SOURCE, (), "uint8"),
            ArraySpec(COMMAND_POSE, (POSE_DIM,), "float32"),
            ArraySpec(COMMAND_GRIPPER, (1,), "float32"),
        ]
        obs = [k for k in robot_features if not k.startswith("images/")]
        missing = [k for k in ("ee_pose", "gripper") if k not in obs]
        if missing:
            raise ValueError(f"the robot's features lack {', '.join(missing)}: it cannot be recorded")
        ordered = [k for k in LOWDIM_OBS_ORDER if k in obs] + sorted(k for k in obs if k not in LOWDIM_OBS_ORDER)
        for key in ordered:
            specs.append(ArraySpec(OBS_PREFIX + key, tuple(int(s) for s in robot_features[key]), "float32"))
        infos = []
        for name, cam in cameras.items():
            info = cam.info
            if info.name != name:
                info = CameraInfo(**{**asdict(info), "name": name})
            infos.append(info)
            specs.append(ArraySpec(IMAGE_TIME_PREFIX + name, (), "float64"))
        return cls(tuple(specs), tuple(infos))

    @property
    def obs_keys(self) -> list[str]:
        return [s.key[len(OBS_PREFIX):] for s in self.lowdim
                if s.key.startswith(OBS_PREFIX) and not s.key.startswith(IMAGE_TIME_PREFIX)]

    @property
    def camera_names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def image_shape(self, camera: str) -> tuple[int, int, int]:
        info = next(c for c in self.cameras if c.name == camera)
        return (int(info.height), int(info.width), 3)

    def to_json(self) -> dict:
        return {"lowdim": [[s.key, list(s.shape), s.dtype] for s in self.lowdim],
                "cameras": [camera_info_dict(c) for c in self.cameras]}

    @classmethod
    def from_json(cls, d: Mapping) -> "EpisodeLayout":
        lowdim = tuple(ArraySpec(str(k), tuple(int(x) for x in shape), str(dt)) for k, shape, dt in d["lowdim"])
        cams = tuple(camera_info_from_dict(c) for c in d["cameras"])
        return cls(lowdim, cams)


def camera_info_dict(info: CameraInfo) -> dict:
    """CameraInfo as plain JSON types (intrinsics NaN when unknown become null)."""
    out = {}
    for k, v in asdict(info).items():
        if isinstance(v, (np.floating, float)):
            v = float(v)
            v = None if math.isnan(v) else v
        elif isinstance(v, np.integer):
            v = int(v)
        out[k] = v
    return out


def camera_info_from_dict(d: Mapping) -> CameraInfo:
    """The inverse of `camera_info_dict` (unknown keys are ignored, null intrinsics become NaN)."""
    fields = CameraInfo.__dataclass_fields__
    kw = {k: v for k, v in d.items() if k in fields}
    for k in ("fx", "fy", "cx", "cy"):
        if kw.get(k) is None:
            kw[k] = float("nan")
    return CameraInfo(**kw)


# -- image codecs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageCodec:
    """An HDF5 filter for image chunks plus the same compression done in Python.

    The writer thread compresses each frame once, into exactly the bytes the HDF5 filter would
    produce, keeps them in the journal, and finalisation copies them into the episode file with
    ``write_direct_chunk`` — so images are never compressed twice and finalising is only I/O.
    Only codecs every HDF5 build can read without plugins are registered (deflate is built into
    libhdf5 itself), because the episode file is the project's public interface.
    """

    name: str
    h5_options: dict = field(default_factory=dict)
    compress: Callable[[bytes], bytes] = bytes


def _deflate(level: int) -> Callable[[bytes], bytes]:
    def compress(data: bytes) -> bytes:
        return zlib.compress(data, level)

    return compress


IMAGE_CODECS: dict[str, ImageCodec] = {
    "none": ImageCodec("none", {}, bytes),
    **{f"gzip-{lvl}": ImageCodec(f"gzip-{lvl}", {"compression": "gzip", "compression_opts": lvl}, _deflate(lvl))
       for lvl in (1, 4, 6, 9)},
}
# Chosen by measurement (bench/image_codecs.py, see docs/dataset-format.md): deflate level 4 is
# 94 % of level 9's size at about half its CPU, and reads as fast as any deflate level.
DEFAULT_IMAGE_CODEC = "gzip-4"


def image_codec(name: str) -> ImageCodec:
    try:
        return IMAGE_CODECS[name]
    except KeyError:
        raise ValueError(f"unknown image codec {name!r}; known: {', '.join(IMAGE_CODECS)}") from None


def to_json(obj: object) -> str:
    """JSON text for an attribute (numpy scalars and arrays become plain numbers and lists)."""
    return json.dumps(obj, default=_json_default, allow_nan=True)


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
