"""Camera configuration: a JSON file naming each camera of a station and how to open it.

    {"format": "demostation-cameras", "version": 1,
     "cameras": [
       {"name": "scene", "kind": "realsense", "mount": "scene", "width": 96, "height": 96, "fps": 30,
        "serial": "123456789012", "depth": false},
       {"name": "wrist", "kind": "uvc", "mount": "wrist", "width": 96, "height": 96, "fps": 30,
        "device": "/dev/video2", "capture_size": [640, 480]},
       {"name": "gel", "kind": "tactile", "width": 64, "height": 64, "fps": 30,
        "inner": {"kind": "uvc", "device": "/dev/video4"}, "gain": 2.0}]}

``name``, ``kind``, ``mount``, ``width``, ``height`` and ``fps`` are common to all cameras; every
other key is an option of that kind (see `devices.cameras.registry.CAMERA_KINDS`), checked when
the file is read, so a typo fails at load with its camera's name instead of at recording time.
`select_cameras` resolves a ``--cameras scene,wrist`` list against the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from devices.cameras.layout import MOUNTS
from devices.userfiles import config_dir, write_text_atomic

CONFIG_FORMAT = "demostation-cameras"
CONFIG_VERSION = 1
CONFIG_FILE_NAME = "cameras.json"
_COMMON = ("name", "kind", "mount", "width", "height", "fps")


@dataclass(frozen=True)
class CameraConfig:
    """One configured camera: the common fields plus its kind's options."""

    name: str
    kind: str
    mount: str = "scene"
    width: int = 96
    height: int = 96
    fps: float = 30.0
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name or "," in self.name:
            raise ValueError(f"camera name must be a non-empty string without '/' or ',', got {self.name!r}")
        if self.mount not in MOUNTS:
            raise ValueError(f"camera {self.name!r}: mount must be one of {', '.join(MOUNTS)}, got {self.mount!r}")
        for key in ("width", "height"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"camera {self.name!r}: {key} must be a positive integer, got {value!r}")
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float)) or not 0 < self.fps <= 1000:
            raise ValueError(f"camera {self.name!r}: fps must be in (0, 1000], got {self.fps!r}")

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "mount": self.mount, "width": self.width,
                "height": self.height, "fps": self.fps, **self.options}

    @classmethod
    def from_dict(cls, item: object, *, default_name: str = "") -> "CameraConfig":
        from devices.cameras.registry import camera_kind  # the registry knows each kind's options

        if not isinstance(item, dict):
            raise ValueError(f"camera entry {default_name or '?'} is not a JSON object")
        name = item.get("name", default_name)
        kind_name = item.get("kind")
        if not isinstance(kind_name, str):
            raise ValueError(f"camera {name!r}: 'kind' is missing (one of {', '.join(_kind_names())})")
        kind = camera_kind(kind_name)
        options = {k: v for k, v in item.items() if k not in _COMMON}
        common = {k: item[k] for k in _COMMON[2:] if k in item}
        common.setdefault("mount", kind.default_mount)
        config = cls(name=name, kind=kind_name, options=options, **common)
        kind.check_options(config)
        return config


def _kind_names() -> list[str]:
    from devices.cameras.registry import CAMERA_KINDS

    return sorted(CAMERA_KINDS)


def default_config_path() -> Path:
    return config_dir() / CONFIG_FILE_NAME


def parse_camera_configs(text: str, source: str = "camera config") -> list[CameraConfig]:
    """Camera configs from the JSON text of a config file; one-line ValueError for anything wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise ValueError(f"{source} is nested too deeply to be a camera config") from None
    if not isinstance(data, dict) or data.get("format") != CONFIG_FORMAT:
        raise ValueError(f"{source} is not a Demo Station camera config (expected \"format\": \"{CONFIG_FORMAT}\")")
    version = data.get("version")
    if version != CONFIG_VERSION:
        raise ValueError(f"{source} has version {version!r}; this Demo Station reads version {CONFIG_VERSION}")
    items = data.get("cameras")
    if not isinstance(items, list):
        raise ValueError(f"{source}: 'cameras' must be a list")
    configs = [CameraConfig.from_dict(item, default_name=f"#{i}") for i, item in enumerate(items)]
    names = [c.name for c in configs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{source}: camera names must be unique, repeated: {', '.join(repeated)}")
    return configs


def load_camera_configs(path: str | Path | None = None) -> list[CameraConfig]:
    """Read a camera config file (default: the user's); a missing default file means no cameras."""
    target = Path(path) if path is not None else default_config_path()
    if not target.exists():
        if path is None:
            return []
        raise FileNotFoundError(f"no camera config at {target}")
    try:
        text = target.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"camera config {target} is not UTF-8 text") from None
    return parse_camera_configs(text, source=f"camera config {target}")


def save_camera_configs(configs: list[CameraConfig], path: str | Path | None = None) -> Path:
    """Write atomically (temp file + rename): a crash never leaves half a config."""
    target = Path(path) if path is not None else default_config_path()
    data = {"format": CONFIG_FORMAT, "version": CONFIG_VERSION, "cameras": [c.to_dict() for c in configs]}
    write_text_atomic(target, json.dumps(data, indent=2) + "\n")
    return target


def select_cameras(configs: list[CameraConfig], names: str | list[str] | None) -> list[CameraConfig]:
    """Resolve a ``--cameras`` value ("scene,wrist", a list, "all" or None = all) against the configs."""
    if names is None or names == "all" or names == ["all"]:
        return list(configs)
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    if not wanted:
        raise ValueError("--cameras names no camera")
    by_name = {c.name: c for c in configs}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none configured"
        raise ValueError(f"unknown camera {', '.join(unknown)} (configured: {known})")
    return [by_name[n] for n in dict.fromkeys(wanted)]
